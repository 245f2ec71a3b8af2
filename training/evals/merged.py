"""Merged model folders for sampling: a run's own, removed when the run ends.

The `hf` generation backend reads a plain model folder, so an arm that is a LoRA adapter is
merged into its base and saved in full (0.5 GB for SmolLM2 in float32, 3 GB for a 1.5B model in
bfloat16, 16 GB for an 8B one). Such a folder is needed only while that arm is being sampled:
the replies are cached by the folder's model id (`llm.backends.hf.folder_model_id`, a digest of
the weights) and the eval results by the arms' content (`training/evals/results.py`), so a later
run with the same models samples nothing and merges nothing. Keeping merged folders across runs
would therefore save a merge only when the models are unchanged and the eval's inputs are not,
at the price of a full model copy per arm and experiment, without bound. So each `msm evaluate`
run keeps its merged folders in a folder of its own and removes it when it ends, whether it
succeeds, fails or is stopped (Ctrl-C and SIGTERM raise through `msm evaluate`'s `finally`).

A run killed outright (SIGKILL, a second Ctrl-C, a lost machine) cannot clean up, so every run
starts by removing what dead runs left: each run folder has a lock file beside it, held with
`flock` for the life of the run; the kernel releases it when the process dies, so a lock that
can be taken belongs to a dead run. Runs sharing `$MSM_WORK_DIR` (parallel experiments) never
remove each other's folders. Folders from before this scheme (`<arm>-<hash>` directly under
`eval-models/`) are removed too.

    $MSM_WORK_DIR/eval-models/run-<pid>-<random>.lock
    $MSM_WORK_DIR/eval-models/run-<pid>-<random>/<arm>-<hash of base and adapter>/

The leaf name is what it was before (it is the merged model's name in its model id, so cached
replies stay valid).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
from pathlib import Path

from pipeline.execution.workdir import work_root

log = logging.getLogger(__name__)
PREFIX = "run-"


def models_root() -> Path:
    return work_root() / "eval-models"


def sweep(root: Path) -> list[Path]:
    """Remove what runs that are no longer alive left under `root`; return what was removed."""
    if not root.is_dir():
        return []
    removed = []
    for entry in sorted(root.iterdir()):
        if entry.suffix == ".lock":
            continue
        lock = entry.with_name(entry.name + ".lock")
        if entry.name.startswith(PREFIX) and lock.exists() and not _dead(lock):
            continue  # a live run's
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        removed.append(entry)
    for lock in sorted(root.glob(f"{PREFIX}*.lock")):  # locks whose folder is gone
        if not lock.with_suffix("").exists() and _dead(lock):
            lock.unlink(missing_ok=True)
    if removed:
        log.info("removed %d merged model folder(s) that ended runs left in %s", len(removed), root)
    return removed


def _dead(lock: Path) -> bool:
    """Whether no live process holds `lock` (taking it, and letting it go at once)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases a lock taken here
    return True


class RunFolder:
    """This run's folder of merged models: made (and locked) on first use, removed by `close()`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self.path: Path | None = None
        self._fd: int | None = None

    def get(self) -> Path:
        if self.path is None:
            root = self.root or models_root()
            root.mkdir(parents=True, exist_ok=True)
            while True:
                name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
                lock = root / f"{name}.lock"
                fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
                # another run's sweep may have taken the lock before this one and removed it
                if os.path.exists(lock) and os.fstat(fd).st_ino == os.stat(lock).st_ino:
                    break
                os.close(fd)
            self._fd, self.path = fd, root / name
            self.path.mkdir()
        return self.path

    def close(self) -> None:
        if self.path is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.with_name(self.path.name + ".lock").unlink(missing_ok=True)
        os.close(self._fd)
        log.info("removed this run's merged model folders: %s", self.path)
        self.path, self._fd = None, None
