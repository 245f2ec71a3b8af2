"""Work folders of the corpus steps: datatrove logs, completion markers and partial results.

They live outside the DVC outputs (DVC deletes an output before a run, and with it datatrove's
completion markers) under `$MSM_WORK_DIR` (default `.msm/work`), one folder per stage run, named
by a hash of everything that decides its results: the stage, the sha256 of its input files, its
params section and the source of the code it runs (`pipeline.deps.closure` of the stage
module: the same files as the stage's code `deps:` in dvc.yaml). A changed input, param or line
of code gives a fresh folder, so a stale run is never resumed; the same run after a crash finds
its folder and redoes only the tasks without a completion marker (datatrove's
`skip_completed`). Each step's folder also names its task count: a run with another `tasks`
setting starts that step afresh.

The folder is removed once the stage has written its outputs. Only paths, params and counts go
into it (datatrove writes every step's attributes to `executor.json`): never a credential.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.deps import ROOT
from pipeline.io import sha256_file


def work_root() -> Path:
    return Path(os.environ.get("MSM_WORK_DIR", ".msm/work"))


@dataclass(frozen=True)
class WorkDir:
    path: Path

    def step(self, name: str, tasks: int) -> Path:
        """The folder of one step run with `tasks` tasks (its logs and its results)."""
        return self.path / f"{name}-{tasks}tasks"

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def work_dir(
    stage: str,
    inputs: Iterable[Path],
    params: Mapping[str, Any],
    code: Iterable[Path],
    root: Path | None = None,
) -> WorkDir:
    """The work folder of one stage run: `<root>/<stage>-<hash of inputs, params, code>`."""
    h = hashlib.sha256()
    key = {
        "stage": stage,
        "inputs": [sha256_file(p) for p in inputs],
        "params": params,
        "code": {str(p.relative_to(ROOT)): sha256_file(p) for p in code},
    }
    h.update(json.dumps(key, sort_keys=True).encode())
    return WorkDir((root or work_root()).resolve() / f"{stage}-{h.hexdigest()[:16]}")
