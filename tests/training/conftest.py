"""Fixtures of the training tests: the tiny model and shards (`tiny.py`), built once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tiny import DOCS, write_base, write_params, write_shards


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    base = write_base(root / "base", DOCS)
    shards = write_shards(DOCS, base, root / "shards", seq_len=64, val=0.1)
    return {"root": root, "base": base, "shards": shards}


@pytest.fixture
def workspace(tiny: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    """params.yaml and run.yaml for one run, with its own work folder."""
    params = write_params(tmp_path / "params.yaml")
    run = tmp_path / "run.yaml"
    run.write_text("training:\n  checkpoint_every: 3\n  threads: 1\n")
    shutil.copytree(tiny["base"], tmp_path / "base")
    return {**tiny, "base": tmp_path / "base", "params": params, "run": run, "tmp": tmp_path}
