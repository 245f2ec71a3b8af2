"""Disk the suite's big fixtures take, given back when they are done.

A built test repository holds the base model in its workspace and its DVC cache (~1 GB in
float32) and its experiments' copies besides, so the fixtures that build one remove it when
their scope ends (`with discarded(...)`), and `pyproject.toml` keeps a test's `tmp_path` only
when the test failed. A fixture's folder stays when a test of this worker failed meanwhile,
to be looked at.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def discarded(request: pytest.FixtureRequest, path: Path) -> Iterator[Path]:
    """Remove `path` when the block ends, unless a test failed meanwhile:
    `with discarded(request, folder): yield folder` in a fixture."""
    failed = request.session.testsfailed
    yield path
    if request.session.testsfailed == failed:
        shutil.rmtree(path, ignore_errors=True)


def copy_tracked(dst: Path, skip: tuple[str, ...] = ()) -> Path:
    """Copy this repository's tracked and untracked-but-not-ignored files to `dst` (as a fresh
    clone would hold them), leaving out the paths in `skip`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for rel in listed:
        if rel in skip or not (ROOT / rel).is_file():
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst / rel)
    return dst
