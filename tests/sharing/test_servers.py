"""Without sshd the SSH remote tests never pass silently: CI fails, elsewhere they skip loudly."""

from __future__ import annotations

import pytest
from servers import require_sshd


def test_missing_sshd_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install Debian's `openssh-server`"):
        require_sshd(None)


def test_missing_sshd_skips_with_a_warning_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with (
        pytest.warns(UserWarning, match="SSH remote tests did NOT run"),
        pytest.raises(pytest.skip.Exception, match="openssh-server"),
    ):
        require_sshd(None)


def test_a_found_sshd_is_used() -> None:
    assert require_sshd("/opt/sbin/sshd") == "/opt/sbin/sshd"
