"""Fixtures of the sharing tests: one tiny built repository per session, and the real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import paid
import pytest
import tinyrepo
from scratch import discarded
from servers import S3Server, SSHServer


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny repository with base_model and the `rules` corpus built and committed."""
    return tinyrepo.build(tmp_path_factory.mktemp("built"))


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    server = SSHServer(tmp_path_factory.mktemp("sshd"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.close()


@pytest.fixture(scope="session")
def shared_folder(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shared-folder remote (a path every clone can reach) holding what `built` built."""
    folder = tmp_path_factory.mktemp("shared") / "dvc-store"
    tinyrepo.dvc(built, "remote", "add", "--local", "-f", "folder", str(folder))
    tinyrepo.msm(built, "remote", "push", "-r", "folder")
    return folder


@pytest.fixture(scope="module")
def paid_origin(
    request: pytest.FixtureRequest,
    built: Path,
    shared_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """A bare origin whose head generates through the paid backend, and its own store
    (`tests/sharing/paid.py`)."""
    root = tmp_path_factory.mktemp("buyers")
    with discarded(request, paid.origin(root, built, shared_folder)):
        yield root
