"""Kill hooks: SIGKILL a client's process group at a chosen point of the protocol, for crash
tests, and account for the requests the kill cut off."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Literal, get_args

from fakes.localserver.records import Accounting, KillRecord, RequestRecord

log = logging.getLogger(__name__)

BatchEvent = Literal["created", "polled", "results"]
BATCH_EVENTS: tuple[str, ...] = get_args(BatchEvent)


@dataclass
class KillHook:
    trigger: str
    pgid: int
    grace_s: float
    remaining: int = 1


@dataclass(slots=True, eq=False)
class Flight:
    """A Messages/chat request being answered; doomed ones are held, then closed unanswered."""

    record: RequestRecord
    doomed: bool = False


class KillHooks(Accounting):
    """The one-shot kill hooks and the in-flight requests a message hook holds."""

    def __init__(self) -> None:
        super().__init__()
        self._message_hook: KillHook | None = None
        self._batch_hooks: dict[str, KillHook] = {}

        # owned by the event loop thread
        self._in_flight: set[Flight] = set()
        self._gate: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def kill_on_message(self, n: int, pgid: int, grace_s: float = 0.3) -> None:
        """On the n-th Messages/chat request arriving from now on, hold every in-flight and new
        request, wait grace_s, SIGKILL process group pgid, then close the held requests
        unanswered and serve normally again. One-shot."""
        if n < 1:
            raise ValueError(f"kill_on_message: n must be >= 1, got {n}")
        with self._lock:
            self._message_hook = KillHook("message", pgid, grace_s, remaining=n)

    def kill_on_batch_event(self, event: BatchEvent, pgid: int, grace_s: float = 0.0) -> None:
        """SIGKILL process group pgid, grace_s after the next `event`. One-shot.

        created: after a batch-create answer was written. polled: after the answer to a
        retrieve of a batch that has not ended was written. results: after half of a results
        stream's lines were written; the stream is then cut (connection closed)."""
        if event not in BATCH_EVENTS:
            raise ValueError(f"unknown batch event {event!r}; known: {', '.join(BATCH_EVENTS)}")
        with self._lock:
            self._batch_hooks[event] = KillHook(event, pgid, grace_s)

    def _take_batch_hook(self, event: str) -> KillHook | None:
        with self._lock:
            return self._batch_hooks.pop(event, None)

    def _kill(self, hook: KillHook) -> None:
        # The accounting is updated under the lock that is held while the signal is sent, so a
        # test that saw the group die reads records that already show the kill.
        with self._lock:
            error = None
            try:
                os.killpg(hook.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._kills.append(KillRecord(hook.trigger, hook.pgid, time.time(), error))
            for flight in self._in_flight:
                if flight.doomed:
                    flight.record.outcome, flight.record.status = "killed", None
            self._killed.set()
        log.info("kill hook %s: SIGKILL to process group %d (%s)", hook.trigger, hook.pgid, error)

    def _arrive(self, flight: Flight) -> None:
        """Count a Messages/chat arrival; the one that trips the message hook closes the gate."""
        self._in_flight.add(flight)
        if self._gate is not None:
            flight.doomed = True
            return
        with self._lock:
            hook = self._message_hook
            if hook is None:
                return
            hook.remaining -= 1
            if hook.remaining > 0:
                return
            self._message_hook = None
        gate = self._gate = asyncio.Event()
        for f in self._in_flight:
            f.doomed = True
        self._spawn(self._kill_then_release(hook, gate))

    async def _kill_then_release(self, hook: KillHook, gate: asyncio.Event) -> None:
        try:
            await asyncio.sleep(hook.grace_s)
            self._kill(hook)
        finally:
            self._gate = None
            gate.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
