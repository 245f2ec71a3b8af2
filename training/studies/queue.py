"""Put a study's experiments in DVC's queue, refusing names DVC already holds.

Each experiment is queued with the same `dvc exp run --queue -n NAME -S ...` line a person would
type (printed as it goes); `dvc queue start` then runs them, each in its own temporary copy of
the repository, sharing stages through DVC's run cache.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from pipeline.config.overlay import assignments
from pipeline.errors import ConfigError, InputError
from training.studies.study import Experiment

log = logging.getLogger(__name__)


def dvc(*args: str, cwd: Path = Path(".")) -> str:
    done = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"`dvc {' '.join(args)}` failed:\n{done.stderr.strip() or done.stdout}")
    return done.stdout


def taken_names(cwd: Path = Path(".")) -> set[str]:
    """Names of the baseline's finished experiments and of entries queued or running."""
    names = set(dvc("exp", "list", "--name-only", cwd=cwd).split())
    for line in dvc("queue", "status", cwd=cwd).splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 3 and cols[-1] in ("Queued", "Running"):
            names.add(cols[1])
    return names


def queue(experiments: list[Experiment], where: Path, cwd: Path = Path(".")) -> None:
    """Queue every experiment, or none: a name clash is found before the first is queued."""
    clash = sorted({e.name for e in experiments} & taken_names(cwd))
    if clash:
        raise ConfigError(
            f"{where}: experiments already exist or are queued: {', '.join(clash)}; remove them "
            "(`dvc exp remove NAME...`, `dvc queue remove NAME...`) or commit first: names are "
            "unique per baseline commit"
        )
    for exp in experiments:
        args = ["exp", "run", "--queue", "-n", exp.name]
        for assignment in assignments(exp.overlay, where):
            args += ["-S", assignment]
        log.info("dvc %s", " ".join(args))
        dvc(*args, cwd=cwd)
