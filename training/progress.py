"""The progress of one long step (an eval on one model, an AFT run): items done of the total,
items per second and the time left.

On an interactive terminal (stderr) it is a live bar that disappears when done; elsewhere (`dvc
repro` into a log, `dvc queue logs`) it is a log line every `EVERY_S` seconds while it runs. In
both cases one line at the end says how many items took how long, so a log shows where the time
went without a line per batch.
"""

from __future__ import annotations

import logging
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger(__name__)
EVERY_S = 10.0
"""Seconds between two progress lines in a log."""


class Meter:
    """`with Meter("value_generalization base", 96, "options") as m: ... m.advance(16)`."""

    def __init__(self, what: str, total: int, unit: str = "items"):
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal and total > 0
        self.bar = Progress(
            TextColumn(f"[bold]{self.what}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(f"{{task.fields[rate]:,.1f}} {unit}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.live,
            transient=True,
        )
        self.task = self.bar.add_task(self.what, total=total, rate=0.0)

    def __enter__(self) -> Meter:
        self.t0 = self.last = time.perf_counter()
        self.bar.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bar.__exit__(kind, err, tb)
        if kind is None:
            took = time.perf_counter() - self.t0
            log.info(
                "%s: %d %s in %.1f s (%s)", self.what, self.done, self.unit, took, self._rate(took)
            )

    def advance(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        took = now - self.t0
        rate = self.done / took if took > 0 else 0.0
        self.bar.update(self.task, completed=self.done, rate=rate)
        if not self.live and now - self.last >= EVERY_S and self.done < self.total:
            self.last = now
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info(
                "%s: %d/%d %s, %s, ETA %s",
                self.what,
                self.done,
                self.total,
                self.unit,
                self._rate(took),
                _duration(eta),
            )

    def _rate(self, took: float) -> str:
        return f"{self.done / took:,.1f} {self.unit}/s" if took > 0 else f"- {self.unit}/s"


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m" if hours else (f"{m}m{s:02d}s" if m else f"{s}s")
