"""The batch journal: which request keys were (about to be) submitted in which batch.

An entry is written, fsync'd, before a batch is created, and gets the batch id once the create
call returns; it is removed when the batch's results are in the request cache. A run killed
between the two steps (or while the batch runs) leaves the entry behind, and the next run
collects that batch instead of paying for it again. The journal lives with the run's working
files (`$MSM_WORK_DIR`, not a DVC output) and holds only request hashes and batch ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    path: Path
    keys: frozenset[str]
    created_at: float
    batch_id: str


class BatchJournal:
    def __init__(self, root: Path):
        self.root = root

    def intend(self, keys: list[str]) -> Entry:
        self.root.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:20]
        entry = Entry(self.root / f"{name}.json", frozenset(keys), time.time(), "")
        self._write(entry)
        return entry

    def submitted(self, entry: Entry, batch_id: str) -> Entry:
        done = Entry(entry.path, entry.keys, entry.created_at, batch_id)
        self._write(done)
        return done

    def forget(self, entry: Entry) -> None:
        entry.path.unlink(missing_ok=True)

    def entries(self) -> list[Entry]:
        if not self.root.is_dir():
            return []
        out = []
        for path in sorted(self.root.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                out.append(
                    Entry(path, frozenset(data["keys"]), data["created_at"], data["batch_id"])
                )
            except (json.JSONDecodeError, KeyError, TypeError):
                path.unlink()  # torn by a kill before the batch was created: nothing was sent
        return out

    def _write(self, entry: Entry) -> None:
        tmp = entry.path.with_suffix(".tmp")
        data = {
            "keys": sorted(entry.keys),
            "created_at": entry.created_at,
            "batch_id": entry.batch_id,
        }
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, entry.path)
