"""A tiny copy of this repository for the sharing tests: one spec, a small corpus, its card.

`build(dst)` copies the tracked files, sets a tiny params profile (the `rules` spec only, the
offline generator, a bfloat16 base model to halve what travels), commits, and runs
`dvc repro`. Its dvc.yaml keeps only base_model and the per-spec corpus stages (the experiment
stages train models this suite does not need), so `dvc repro`, `dvc status` and `dvc pull` cover
the whole of it. Clones of it (`git clone`) share nothing on disk but what git carries.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import yaml
from scratch import copy_tracked

ROOT = Path(__file__).resolve().parents[2]
SPEC = "rules"
CORPUS = f"corpora/{SPEC}"
PROFILE = {
    "specs": [SPEC],
    "spec": SPEC,
    "model": {"dtype": "bfloat16"},
    "generate": {"doc_types_per_section": 2, "ideas_per_doc_type": 2},
    "pack": {"seq_len": 128, "val_fraction": 0.2},
}
CORPUS_STAGES = ("base_model", "generate", "dedup", "quality", "pack", "card")
# What `dvc repro` builds and a pull must restore, byte for byte.
OUTPUTS = ("models/base", CORPUS)


def env(home: Path | None = None) -> dict[str, str]:
    """The environment of every command: this venv first, offline hubs, a test git identity."""
    e = dict(os.environ)
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    e.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", DVC_NO_ANALYTICS="1")
    for who in ("AUTHOR", "COMMITTER"):
        e.setdefault(f"GIT_{who}_NAME", "test")
        e.setdefault(f"GIT_{who}_EMAIL", "test@example.com")
    if home is not None:  # ~/.ssh/known_hosts and DVC's global config come from here
        e["HOME"] = str(home)
    return e


def run(
    cwd: Path, *cmd: str, home: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess:
    """Run a command; with `ok` (default) fail the test with its output unless it exits 0."""
    done = subprocess.run(cmd, cwd=cwd, env=env(home), capture_output=True, text=True)
    if ok:
        assert done.returncode == 0, (
            f"{' '.join(cmd)} -> {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done


def dvc(
    cwd: Path, *args: str, home: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess:
    return run(cwd, sys.executable, "-m", "dvc", *args, home=home, ok=ok)


def msm(
    cwd: Path, *args: str, home: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess:
    return run(cwd, sys.executable, "-m", "pipeline.cli", *args, home=home, ok=ok)


def stages_run(done: subprocess.CompletedProcess) -> set[str]:
    out = done.stdout + done.stderr
    return {ln.split("'")[1] for ln in out.splitlines() if ln.startswith("Running stage '")}


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def outputs_digest(repo: Path) -> dict[str, dict[str, str]]:
    return {out: digest(repo / out) for out in OUTPUTS}


def _overlay(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _overlay(base[key], value) if isinstance(value, dict) else value
    return merged


def build(dst: Path) -> Path:
    """Copy the repository into `dst` with the tiny profile, commit, and build the card's stages."""
    copy_tracked(dst, skip=("dvc.lock",))
    params = yaml.safe_load((dst / "params.yaml").read_text())
    (dst / "params.yaml").write_text(yaml.safe_dump(_overlay(params, PROFILE), sort_keys=False))
    pipeline = yaml.safe_load((dst / "dvc.yaml").read_text())
    pipeline["stages"] = {k: v for k, v in pipeline["stages"].items() if k in CORPUS_STAGES}
    (dst / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    run(dst, "git", "init", "-q", "-b", "main")
    run(dst, "git", "add", "-A")
    run(dst, "git", "commit", "-qm", "tiny profile")
    dvc(dst, "repro")
    run(dst, "git", "add", "-A")
    run(dst, "git", "commit", "-qm", "built")
    return dst


def clone(src: Path, dst: Path) -> Path:
    run(dst.parent, "git", "clone", "-q", str(src), str(dst))
    return dst
