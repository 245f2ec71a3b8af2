"""`msm base-model` from `model.name`: a local folder (hashed) or a hub id (read from the Hugging
Face cache, its commit recorded); the pointer's wheel is the default, built by the DVC tests.

The hub case runs offline against a Hugging Face cache laid out as `huggingface_hub` writes it
(`models--org--name/snapshots/<commit>/`, `refs/main`), so the real resolution code runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny import DOCS, write_base, write_params

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def base_model(tmp: Path, name: str, **env: str) -> subprocess.CompletedProcess:
    params = write_params(tmp / "params.yaml")
    raw = yaml.safe_load(params.read_text())
    raw["model"]["name"] = name
    params.write_text(yaml.safe_dump(raw, sort_keys=False))
    return subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; main()", "base-model",
         "--params", str(params), "--pointer", "models/base.pointer.json",
         "--out", str(tmp / "base")],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_base(tmp_path_factory.mktemp("src") / "model", DOCS)
    (folder / "manifest.json").unlink()
    return folder


def test_local_folder(source: Path, tmp_path: Path) -> None:
    done = base_model(tmp_path, str(source))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "base/manifest.json").read_text())
    assert manifest["source"] == "local" and manifest["name"] == str(source)
    assert set(manifest["source_files"]) >= {"config.json", "model.safetensors", "tokenizer.json"}
    assert (tmp_path / "base/tokenizer.json").is_file()


def test_hub_id_from_the_cache_records_its_commit(source: Path, tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "models--org--tiny"
    shutil.copytree(source, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    done = base_model(tmp_path, "org/tiny", HF_HUB_CACHE=str(tmp_path / "hub"))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "base/manifest.json").read_text())
    assert (manifest["source"], manifest["name"], manifest["revision"]) == (
        "hub", "org/tiny", COMMIT
    )  # fmt: skip
    assert "pin it in params" in done.stderr


def test_missing_sources_are_clear_errors(tmp_path: Path) -> None:
    done = base_model(tmp_path, "org/absent", HF_HUB_CACHE=str(tmp_path / "hub"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not in the Hugging Face cache" in done.stderr and "HF_HUB_OFFLINE=0" in done.stderr
    done = base_model(tmp_path, "./models/local/absent")
    assert done.returncode == 2 and "looks like a local folder" in done.stderr
    assert not (tmp_path / "base").exists()
