"""Answering one round of requests: cache first, then the backend, under the spending cap.

Every client of the LLM layer (corpus generation, AFT data, judges, evals) asks through a
`Runner`. Requests missing from the cache go to the backend one purpose at a time (a purpose
may go through a batch API, see `Backend.uses_batch`).

Each answer is committed to the cache the moment it arrives. Requests are handed to the backend
lazily, each only after the cap has booked its worst case, so the backend never sends what the
cap would not allow. Requests left unsent once the cap is reached come back as
`Failure("spend_cap")`; answers a backend could not get come back as its `Failure`. Neither is
cached, so a re-run asks for them again.

Inside `Runner.graceful()` a first Ctrl-C or SIGTERM stops the sending: the requests in flight
get `drain_s` seconds to finish and their answers are committed like any other, then the runner
raises `Interrupted` saying how many answers were kept and how many requests were abandoned
(`pipeline.interrupt`). Submitted batches stay journalled for the next run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tqdm import tqdm

from llm.backends.base import Backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.request import Failure, Request, Response
from pipeline import interrupt

log = logging.getLogger(__name__)
_INTERRUPT_REASONS = frozenset({"interrupted", "batch_pending"})


@dataclass
class Usage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usd: float = 0.0

    def add(self, r: Response) -> None:
        self.requests += 1
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        self.cache_read_tokens += r.cache_read_tokens
        self.cache_write_tokens += r.cache_write_tokens
        self.usd += r.cost_usd

    def to_json(self) -> dict:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "usd": round(self.usd, 6),
        }


@dataclass
class Runner:
    backend: Backend
    cache: RequestCache
    cap: SpendCap
    progress: bool = True
    used: dict[str, Usage] = field(default_factory=dict)
    """Usage of every distinct answer handed out, by purpose (deterministic: the cache decides
    it, not what this run bought)."""
    new: Usage = field(default_factory=Usage)
    """What this run bought (run information: logged, never written into outputs)."""
    hits: int = 0
    failures: Counter = field(default_factory=Counter)
    """Transport failures and spend-cap stops, by reason (not cached; a re-run retries them)."""
    stopped: bool = False
    drain_s: float = 30.0
    """After a first Ctrl-C or SIGTERM, how long the requests in flight may take to finish."""
    on_answer: Callable[[int], None] | None = None
    """Called with the number of requests answered, from the cache or the backend, as they are
    (a caller's own progress meter)."""
    _counted: set[str] = field(default_factory=set)
    _taken: int = 0
    """Requests the backend took in the current round (counted in the thread that feeds it)."""
    _received: int = 0
    """Requests it yielded back (counted in the caller's thread)."""
    _drained: int = 0
    _abandoned: int = 0
    _pending: int = 0

    @contextlib.contextmanager
    def graceful(self) -> Iterator[None]:
        """The block in which a first signal drains instead of raising at once; a signal that
        came in it raises `Interrupted` at the latest when it ends."""
        with interrupt.graceful(self._on_signal, self._abandoning):
            yield
        self._check_interrupt()

    def answer(self, requests: list[Request]) -> dict[str, Response | Failure]:
        """Each request's answer (or Failure), by request key."""
        self._check_interrupt()
        out: dict[str, Response | Failure] = {}
        missing: dict[str, Request] = {}
        for r in requests:
            cached = self.cache.get(r.key)
            if cached is not None:
                out[r.key] = cached
                if self._use(r.key, cached, r.purpose):
                    self.cap.count(cached)
                self.hits += 1
            else:
                missing.setdefault(r.key, r)
        if self.on_answer is not None and len(out):
            self.on_answer(len(out))
        by_purpose: dict[str, list[Request]] = {}
        for r in missing.values():
            by_purpose.setdefault(r.purpose, []).append(r)
        for purpose, group in by_purpose.items():
            if not self.stopped:
                self._ask(group, purpose, out)
                self._check_interrupt()
        for key in missing:
            if key not in out:
                out[key] = Failure("spend_cap", "not sent: the spending cap was reached")
                self.failures["spend_cap"] += 1
        return out

    def _ask(self, requests: list[Request], purpose: str, out: dict) -> None:
        batch = self.backend.uses_batch(purpose)
        bar = tqdm(
            total=len(requests),
            desc=f"{purpose:<9}",
            unit="req",
            disable=not self.progress or None,
            leave=False,
        )
        start = time.monotonic()

        def feed() -> Iterator[Request]:
            for taken, r in enumerate(requests):
                if interrupt.requested():
                    return
                if not self.cap.reserve(r, batch):
                    self.stopped = True
                    log.warning(
                        "spending cap reached ($%.2f spent of $%.2f): %s %s requests not sent",
                        self.cap.spent,
                        self.cap.cap_usd,
                        f"{len(requests) - taken:,}",
                        purpose,
                    )
                    return
                self._taken += 1
                yield r

        try:
            for request, result in self.backend.generate(feed()):
                self._received += 1
                if interrupt.requested() and isinstance(result, Response):
                    self._drained += 1
                if isinstance(result, Response):
                    self.cache.put(request.key, result)
                    self.cap.settle(request, result)
                    self.new.add(result)
                    self._use(request.key, result, purpose)
                elif result.reason in _INTERRUPT_REASONS:
                    self.cap.settle(request, None)
                    self._pending += result.reason == "batch_pending"
                else:
                    self.cap.settle(request, None)
                    self.failures[result.reason] += 1
                    log.warning("%s request failed: %s %s", purpose, result.reason, result.detail)
                out[request.key] = result
                if self.on_answer is not None:
                    self.on_answer(1)
                bar.update()
                bar.set_postfix_str(
                    f"{self.new.output_tokens:,} tok out, ${self.cap.spent:,.2f}", refresh=False
                )
        finally:
            bar.close()
            # requests taken but never yielded back: cut off when the drain time ran out
            self._abandoned += self._in_flight
            self._taken = self._received = 0
        took = time.monotonic() - start
        log.info(
            "%s: %d requests sent in %.1fs (%.1f/s); spent so far $%.4f",
            purpose,
            len(requests),
            took,
            len(requests) / took if took else 0.0,
            self.cap.spent,
        )

    @property
    def _in_flight(self) -> int:
        return self._taken - self._received

    def _on_signal(self, name: str) -> None:
        log.warning(
            "%s: stopping; no new requests are sent, the %d in flight get up to %gs to finish "
            "(send it again to quit at once)",
            name,
            self._in_flight,
            self.drain_s,
        )

    def _abandoning(self) -> str:
        return f"{self._in_flight} requests in flight abandoned (a re-run buys them again)"

    def _check_interrupt(self) -> None:
        signum = interrupt.requested()
        if signum is None:
            return
        detail = (
            f"{self.new.requests:,} answers bought by this run are in the cache "
            f"({self._drained} arrived while draining); {self._abandoned} requests in flight "
            "were abandoned (a re-run buys them again)"
        )
        if self._pending:
            detail += (
                f"; {self._pending} requests in submitted batches stay journalled "
                "(the next run collects them)"
            )
        raise interrupt.Interrupted(signum, detail)

    def _use(self, key: str, response: Response, purpose: str) -> bool:
        """Count an answer in the usage once; False if it was counted already."""
        if key in self._counted:
            return False
        self._counted.add(key)
        self.used.setdefault(purpose, Usage()).add(response)
        return True
