"""Fault injection: which Messages/chat requests fail, and how; which batch requests end errored
or expired."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

FaultKind = Literal[
    "429",
    "529",
    "500",
    "503",
    "timeout",
    "malformed_json",
    "missing_content",
    "disconnect",
    "truncated",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
STATUS_FAULTS = frozenset({"429", "529", "500", "503"})


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after_s: float = 0.0
    """The `retry-after` header: always sent on a 429, on 529/500/503 only when > 0."""
    hold_s: float = 10.0
    """How long a `timeout` fault holds the request before closing it unanswered."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class FaultRule:
    predicate: Callable[[dict[str, Any]], bool]
    """Called with the parsed request body (Messages params or chat body)."""
    fault: Fault
    times: int | None = 1
    """How many matching requests get the fault; None: every matching request."""


def _as_fault(fault: Fault | str) -> Fault:
    return fault if isinstance(fault, Fault) else Fault(fault)  # type: ignore[arg-type]


@dataclass
class Faults:
    """What goes wrong, changeable from any thread while the server runs.

    A Messages/chat request that passes auth and validation first takes the head of `queue`
    (arrival order); if the queue is empty, the first rule whose predicate matches its body.
    Batch faults are read when a batch ends: those custom_ids end errored or expired.
    """

    queue: list[Fault] = field(default_factory=list)
    rules: list[FaultRule] = field(default_factory=list)
    batch_errored: dict[str, str] = field(default_factory=dict)
    """custom_id -> Anthropic error type of its `errored` result (e.g. api_error)."""
    batch_expired: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.queue = [_as_fault(f) for f in self.queue]

    def push(self, *faults: Fault | str) -> None:
        """Apply these faults, in order, to the next Messages/chat requests."""
        with self._lock:
            self.queue.extend(_as_fault(f) for f in faults)

    def when(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        fault: Fault | str,
        times: int | None = 1,
    ) -> None:
        with self._lock:
            self.rules.append(FaultRule(predicate, _as_fault(fault), times))

    def error_batch_requests(self, *custom_ids: str, error_type: str = "api_error") -> None:
        with self._lock:
            self.batch_errored.update(dict.fromkeys(custom_ids, error_type))

    def expire_batch_requests(self, *custom_ids: str) -> None:
        with self._lock:
            self.batch_expired.update(custom_ids)

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()
            self.rules.clear()
            self.batch_errored.clear()
            self.batch_expired.clear()

    def take(self, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            if self.queue:
                return self.queue.pop(0)
            for rule in self.rules:
                if rule.predicate(body):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule.fault
        return None

    def batch_snapshot(self) -> tuple[dict[str, str], set[str]]:
        with self._lock:
            return dict(self.batch_errored), set(self.batch_expired)
