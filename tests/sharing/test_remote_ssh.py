"""A DVC remote over SSH (dvc-ssh) against OpenSSH's sshd on 127.0.0.1.

Push from the built repository, pull into a fresh clone: corpora, base model and generation
cache arrive byte-identical and `dvc repro` has nothing to run. An unknown host key, a wrong
password and a corrupt object on the remote each stop `msm remote pull` with a clear message,
a non-zero exit, and nothing written into the workspace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from scratch import discarded
from servers import SSHServer, keygen
from tinyrepo import CORPUS, OUTPUTS, clone, dvc, msm, outputs_digest, stages_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, sshd: SSHServer) -> Path:
    """A HOME whose ~/.ssh/known_hosts trusts the test server's host key."""
    home = tmp_path_factory.mktemp("home")
    (home / ".ssh").mkdir(mode=0o700)
    (home / ".ssh" / "known_hosts").write_text(sshd.host_line)
    return home


@pytest.fixture(scope="module")
def pushed(
    request: pytest.FixtureRequest,
    built: Path,
    sshd: SSHServer,
    home: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The remote's URL, after `msm remote push` from the built repository."""
    store = tmp_path_factory.mktemp("ssh-remote")
    url = sshd.url(store / "store")
    add_remote(built, "ssh", url, keyfile=str(sshd.client_key))
    done = msm(built, "remote", "push", "-r", "ssh", home=home)
    assert "remote 'ssh'" in done.stdout
    with discarded(request, store):
        yield url


def add_remote(repo: Path, name: str, url: str, **local: str) -> None:
    dvc(repo, "remote", "add", "--local", "-f", name, url)
    for key, value in local.items():
        dvc(repo, "remote", "modify", "--local", name, key, value)


def untouched(repo: Path) -> None:
    for out in OUTPUTS:
        assert not (repo / out).exists(), f"{out} was written by a failed pull"


def test_push_then_pull_into_a_clone_is_byte_identical_and_runs_nothing(
    built: Path, sshd: SSHServer, home: Path, pushed: str, tmp_path: Path
) -> None:
    other = clone(built, tmp_path / "other")
    add_remote(other, "ssh", pushed, keyfile=str(sshd.client_key))
    msm(other, "remote", "pull", "-r", "ssh", home=home)
    assert outputs_digest(other) == outputs_digest(built)
    assert list((other / CORPUS / "cache").glob("seg-*.jsonl")), "generation cache not pulled"
    assert "up to date" in dvc(other, "status").stdout
    assert stages_run(dvc(other, "repro")) == set()


def test_unknown_host_key_stops_before_any_transfer(
    built: Path, sshd: SSHServer, pushed: str, tmp_path: Path
) -> None:
    stranger = tmp_path / "home"  # no known_hosts at all
    stranger.mkdir()
    other = clone(built, tmp_path / "other")
    add_remote(other, "ssh", pushed, keyfile=str(sshd.client_key))
    done = msm(other, "remote", "pull", "-r", "ssh", home=stranger, ok=False)
    assert done.returncode == 2, done.stderr
    assert "host key of 127.0.0.1" in done.stderr and "known_hosts" in done.stderr
    untouched(other)
    assert not (other / ".dvc" / "cache").exists()


def test_changed_host_key_is_refused(
    built: Path, sshd: SSHServer, pushed: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    # another key on record for this host and port: what a man in the middle looks like
    keygen(tmp_path / "impostor")
    kind, key = (tmp_path / "impostor.pub").read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {kind} {key}\n")
    other = clone(built, tmp_path / "other")
    add_remote(other, "ssh", pushed, keyfile=str(sshd.client_key))
    done = msm(other, "remote", "pull", "-r", "ssh", home=home, ok=False)
    assert done.returncode == 2 and "not trusted" in done.stderr, done.stderr
    untouched(other)


def test_wrong_password_is_refused_with_the_fix(
    built: Path, pushed: str, home: Path, tmp_path: Path
) -> None:
    other = clone(built, tmp_path / "other")
    add_remote(other, "ssh", pushed, password="not-the-password")
    for action in ("pull", "push"):
        done = msm(other, "remote", action, "-r", "ssh", home=home, ok=False)
        assert done.returncode == 2, done.stderr
        assert "refused the login (password rejected)" in done.stderr
        assert "dvc remote modify --local ssh password" in done.stderr
    untouched(other)


def test_corrupt_object_on_the_remote_is_caught_on_pull(
    built: Path, sshd: SSHServer, home: Path, pushed: str, tmp_path: Path
) -> None:
    store = Path(pushed.split(f":{sshd.port}", 1)[1])
    # the generation cache's segment: a file whose damage DVC would otherwise check out
    segment = next((built / CORPUS / "cache").glob("seg-*.jsonl"))
    md5 = _md5(segment)
    obj = store / "files" / "md5" / md5[:2] / md5[2:]
    good = obj.read_bytes()
    obj.write_bytes(good.replace(b'"', b"'", 1))
    try:
        other = clone(built, tmp_path / "other")
        add_remote(other, "ssh", pushed, keyfile=str(sshd.client_key))
        done = msm(other, "remote", "pull", "-r", "ssh", home=home, ok=False)
        assert done.returncode == 2, done.stderr
        assert "1 corrupt object" in done.stderr
        assert f"files/md5/{md5[:2]}/{md5[2:]} has md5" in done.stderr
        untouched(other)
        assert not (other / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).exists()
    finally:
        obj.write_bytes(good)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
