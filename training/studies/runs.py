"""The experiments DVC holds, read from `dvc exp show --json`: params, metrics and state.

Only the eval metrics files (`metrics/<eval>.json`, each with `eval` and `models`) are read; an
experiment that failed, or is queued or running, is kept with its state so that a comparison
says how many of a group's seeds are missing and why.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.config.overlay import flatten
from pipeline.errors import InputError


@dataclass(frozen=True)
class Run:
    name: str
    rev: str
    state: str
    """success | failed | queued | running | workspace | baseline"""
    params: dict[str, Any]
    """Dotted key -> value, from params.yaml."""
    evals: dict[str, dict] = field(default_factory=dict)
    """Eval name -> its metrics file's data."""


def read_runs(cwd: Path = Path(".")) -> list[Run]:
    done = subprocess.run(["dvc", "exp", "show", "--json"], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"`dvc exp show --json` failed:\n{done.stderr.strip()}")
    return parse_runs(json.loads(done.stdout))


def parse_runs(shown: list[dict]) -> list[Run]:
    """Every experiment of every baseline in `dvc exp show --json` output, baselines included."""
    out = []
    for base in shown:
        state = "workspace" if base.get("rev") == "workspace" else "baseline"
        out.append(_run(base.get("name") or base["rev"], base, state))
        for exp in base.get("experiments") or []:
            executor = exp.get("executor") or {}
            for rev in exp.get("revs") or []:
                state = executor.get("state") or ("failed" if rev.get("error") else "success")
                out.append(_run(exp.get("name") or rev.get("name") or rev["rev"], rev, state))
    return out


def _run(name: str, node: dict, state: str) -> Run:
    data = node.get("data") or {}
    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
    evals = {}
    for _path, metric in (data.get("metrics") or {}).items():
        content = (metric or {}).get("data") or {}
        if isinstance(content.get("eval"), str) and isinstance(content.get("models"), dict):
            evals[content["eval"]] = content
    if node.get("error") and state == "success":
        state = "failed"
    return Run(name, node.get("rev", ""), state, dict(flatten(params)), evals)
