"""What the server saw: a record per Messages/chat request, per created batch and per kill, kept
under one lock so that any thread can read them while the server runs."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger("fakes.localserver")

SUCCESS_OUTCOMES = frozenset({"ok", "truncated", "missing_content"})
"""Outcomes that are a complete, well-formed 200 answer (what `completed` can be True for)."""


@dataclass(slots=True)
class RequestRecord:
    seq: int
    api: Literal["anthropic", "openai"]
    identity: str
    body: Any
    outcome: str = "pending"
    """pending | ok | truncated | missing_content | malformed_json | disconnect | timeout |
    killed | client_gone | the status code of an error answer ("400", "401", "429", ...)."""
    status: int | None = None
    """HTTP status written; None when the connection was closed without an answer."""
    completed: bool = False
    """A complete, well-formed 200 answer was handed to the socket."""


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    custom_ids: tuple[str, ...]
    created_at: float


@dataclass(frozen=True)
class KillRecord:
    trigger: str
    """message | created | polled | results"""
    pgid: int
    at: float
    error: str | None = None
    """Why os.killpg failed (e.g. the group was already gone); None when it was sent."""


class Accounting:
    """The records and their readers, safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._batch_records: list[BatchRecord] = []
        self._kills: list[KillRecord] = []
        self._killed = threading.Event()

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every Messages/chat request, in arrival order."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._records]

    def completed_counts(self) -> Counter[str]:
        """identity -> how many complete, well-formed 200 answers were written for it."""
        with self._lock:
            return Counter(r.identity for r in self._records if r.completed)

    def outcome_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(r.outcome for r in self._records)

    @property
    def batches_created(self) -> list[BatchRecord]:
        with self._lock:
            return list(self._batch_records)

    def batch_custom_id_counts(self) -> Counter[str]:
        """custom_id -> in how many created batches it appears."""
        with self._lock:
            return Counter(c for b in self._batch_records for c in b.custom_ids)

    @property
    def kills(self) -> list[KillRecord]:
        with self._lock:
            return list(self._kills)

    def wait_for_kill(self, timeout: float) -> bool:
        """Block until a kill hook has fired (True) or timeout passes (False)."""
        return self._killed.wait(timeout)

    def reset_accounting(self) -> None:
        with self._lock:
            self._records.clear()
            self._batch_records.clear()
            self._kills.clear()
            self._killed.clear()

    def _record_request(
        self, api: Literal["anthropic", "openai"], identity: str, body: Any
    ) -> RequestRecord:
        with self._lock:
            record = RequestRecord(len(self._records), api, identity, body)
            self._records.append(record)
        return record

    def _record_batch(self, record: BatchRecord) -> None:
        with self._lock:
            self._batch_records.append(record)
        log.info("anthropic batch %s: %d requests", record.batch_id, len(record.custom_ids))

    def _finish(self, record: RequestRecord, outcome: str, status: int | None, ok: bool) -> None:
        with self._lock:
            record.outcome, record.status, record.completed = outcome, status, ok
            done = sum(r.outcome != "pending" for r in self._records)
        model = record.body.get("model", "?") if isinstance(record.body, dict) else "?"
        log.info("%s request %d (%s): %s %s", record.api, done, model, status or "-", outcome)
