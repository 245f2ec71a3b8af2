"""Concurrent answering for HTTP backends: an asyncio loop in a worker thread, fed lazily.

`EventLoop.stream(requests, answer_one, concurrency)` takes the next request only when one of
`concurrency` slots is free, runs `answer_one` for it on the loop, and yields each result in
the caller's thread as soon as it completes. A `BackendError` from any request stops taking new
requests; the ones already in flight are finished and yielded first, then the error is raised.
Closing the generator early cancels what is in flight.

After an interrupt (`pipeline.interrupt`) the caller's request iterator stops; the stream yields
what is still in flight as it completes, for at most `drain_s` seconds after the signal, then
returns without the rest (cancelled: the caller counts them as abandoned).

Also here: our retry policy (exponential backoff with full jitter, a server's `retry-after`
wins when longer), shared by every HTTP backend.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

from llm.errors import BackendError
from llm.request import Failure, Request, Response
from llm.settings import LLMSettings
from pipeline import interrupt

Result = Response | Failure
_DONE = object()
_POLL_S = 0.1


class EventLoop:
    """One asyncio loop in a daemon thread for the backend's lifetime, so that its HTTP client
    and pooled connections live across rounds."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="llm-io", daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()  # type: ignore[arg-type]

    def stream(
        self,
        requests: Iterable[Request],
        answer_one: Callable[[Request], Awaitable[Result]],
        concurrency: int,
        drain_s: float = 0.0,
    ) -> Iterator[tuple[Request, Result]]:
        results: queue.Queue = queue.Queue()
        fatal: list[BackendError] = []
        source = iter(requests)

        async def one(request: Request, slots: asyncio.Semaphore) -> None:
            try:
                result: Result = await answer_one(request)
            except BackendError as err:
                fatal.append(err)
                result = Failure("backend_error", str(err))
            except Exception as err:  # a bug or an SDK surprise: this request fails, others go on
                result = Failure("error", f"{type(err).__name__}: {err}")
            finally:
                slots.release()
            results.put((request, result))

        async def main() -> None:
            slots = asyncio.Semaphore(concurrency)
            tasks: set[asyncio.Task] = set()
            try:
                while not fatal:
                    await slots.acquire()
                    if fatal:
                        break
                    request = next(source, None)
                    if request is None:
                        break
                    task = asyncio.create_task(one(request, slots))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if tasks:
                    await asyncio.gather(*tasks, return_exceptions=True)
            except asyncio.CancelledError:  # the caller closed the stream: drop what is in flight
                for task in tasks:
                    task.cancel()
                raise
            except (
                Exception
            ) as err:  # e.g. from the request iterator: raised in the caller's thread
                results.put(err)
            finally:
                results.put(_DONE)

        future = asyncio.run_coroutine_threadsafe(main(), self._loop)
        finished = False
        try:
            while True:
                try:
                    item = results.get(timeout=_POLL_S)
                except queue.Empty:
                    if interrupt.requested() and interrupt.elapsed() >= drain_s:
                        return  # the drain time is up: the `finally` cancels what is left
                    continue
                if item is _DONE:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not finished:
                future.cancel()
        if fatal:
            raise fatal[0]

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


def backoff_s(settings: LLMSettings, retry: int, retry_after: float | None = None) -> float:
    """Full-jitter exponential backoff; a longer `retry-after` from the server wins."""
    ceiling = min(settings.backoff_max_s, settings.backoff_s * (2**retry))
    wait = random.uniform(0, ceiling)
    return max(wait, retry_after or 0.0)


def retry_after_s(headers: object) -> float | None:
    try:
        value = headers.get("retry-after")  # type: ignore[attr-defined]
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


class Outcome:
    """What one failed attempt means: a `Failure`, whether to retry, and the server's wait."""

    __slots__ = ("after", "failure", "retry")

    def __init__(self, failure: Failure, retry: bool, after: float | None = None):
        self.failure = failure
        self.retry = retry
        self.after = after


def classify(
    sdk: Any, err: Exception, fatal: Callable[[Any], str], message: Callable[[Any], str]
) -> Outcome:
    """Map an exception of the anthropic or openai SDK (they share their error classes' names)
    to our policy; `fatal(err)` names errors that must stop the stage (raised as BackendError).
    Anything unexpected is re-raised."""
    if isinstance(err, sdk.APIStatusError):
        stop = fatal(err)
        if stop:
            raise BackendError(stop) from None
        status = err.status_code
        if status not in RETRYABLE_STATUS:
            return Outcome(Failure("invalid_request", f"{status}: {message(err)}"), retry=False)
        return Outcome(
            Failure(f"http_{status}", message(err)), True, retry_after_s(err.response.headers)
        )
    if isinstance(err, sdk.APITimeoutError):
        return Outcome(Failure("timeout", "no answer within the read timeout"), retry=True)
    if isinstance(err, sdk.APIConnectionError):
        return Outcome(Failure("connection", f"{type(err).__name__}: {err.__cause__!r}"), True)
    if isinstance(err, sdk.APIResponseValidationError | ValueError | LookupError | TypeError):
        return Outcome(Failure("malformed_response", f"{type(err).__name__}: {err}"), True)
    raise err


def status_message(err: Any) -> str:
    """`type: message` from a provider's JSON error body, else the exception's name."""
    body = getattr(err, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return f"{inner.get('type', '')}: {inner.get('message', '')}".strip(": ")
    return type(err).__name__
