"""Per-model eval results kept in the eval cache, so that an experiment scores only the models it
changed.

DVC reruns `evaluate` whenever any of its models changes, and it always scores every arm; the base
model, unchanged in every experiment, would be scored again each time. Each eval therefore looks
up each arm's rows before scoring it: the key is the sha256 of the eval's name, the arm, the arm's
model content (`Arms.fingerprint`: the base's manifest plus every adapter file) and the eval's
inputs (its params, items, prompts, seed, and the code it runs: the import closure of its module,
with the data files beside it). An unchanged (model, eval set, eval params, code) is a hit: its
rows come back as stored, so the metrics equal those of a fresh run byte for byte.

Entries are JSON files, `<cache>/results/<eval>/<key>.json`, inside the eval's request cache (a
persistent DVC output: `dvc push` shares them, and DVC does not delete them before a run). An entry
is written atomically and never changed; one from older inputs is simply never asked for again.
Hits and misses are logged per arm and summed in the final log line of `msm evaluate`; they are
kept out of the metrics files, which must not depend on what a workspace happened to have cached.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.deps import ROOT, closure
from pipeline.io import sha256_file, write_json

log = logging.getLogger(__name__)
FORMAT = 1
"""Bumped when the layout of an entry changes, so that old entries are never read."""


def code_digest(module: str) -> str:
    """sha256 over the files `module` runs (`pipeline.deps.closure`), by relative path."""
    h = hashlib.sha256()
    for path in closure(module):
        h.update(f"{path.relative_to(ROOT)} {sha256_file(path)}\n".encode())
    return h.hexdigest()


@dataclass
class ResultCache:
    """The stored per-arm results of one eval for one set of inputs."""

    root: Path
    """The eval cache folder (`msm evaluate --cache`)."""
    eval_name: str
    inputs: dict[str, Any]
    """Everything besides the model that decides the eval's rows (JSON-serializable)."""
    module: str
    """The eval's module, whose import closure is part of the key."""
    tally: Counter = field(default_factory=Counter)
    """`hit` and `miss` counts, added to (`EvalContext.tally` sums them over one run)."""

    def __post_init__(self) -> None:
        text = json.dumps(
            {"format": FORMAT, "inputs": self.inputs, "code": code_digest(self.module)},
            sort_keys=True,
            ensure_ascii=False,
        )
        self._inputs_digest = hashlib.sha256(text.encode()).hexdigest()

    def key(self, arm: str, fingerprint: str) -> str:
        line = f"{self.eval_name} {arm} {fingerprint} {self._inputs_digest}"
        return hashlib.sha256(line.encode()).hexdigest()

    def path(self, arm: str, fingerprint: str) -> Path:
        return self.root / "results" / self.eval_name / f"{self.key(arm, fingerprint)}.json"

    def get(self, arm: str, fingerprint: str) -> dict[str, Any] | None:
        """The stored result of `arm`, or None (a miss: the caller scores it and `put`s it)."""
        path = self.path(arm, fingerprint)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            entry = None
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s: unreadable cached result, scoring %s again", path, arm)
            entry = None
        if entry is None or entry.get("key") != path.stem:
            self.tally["miss"] += 1
            return None
        self.tally["hit"] += 1
        log.info("%s %s: unchanged model and inputs, result from the cache", self.eval_name, arm)
        return entry["result"]

    def put(self, arm: str, fingerprint: str, result: dict[str, Any]) -> None:
        path = self.path(arm, fingerprint)
        write_json(path, {"eval": self.eval_name, "arm": arm, "key": path.stem, "result": result})
