"""Concurrent answering for HTTP backends: an asyncio loop in a worker thread, fed lazily.

`stream(requests, answer_one, concurrency)` takes the next request only when one of
`concurrency` slots is free, runs `answer_one` for it on the loop, and yields each result in
the caller's thread as soon as it completes. A `BackendError` from any request stops taking new
requests; the ones already in flight are finished and yielded first, then the error is raised.
Closing the generator early cancels what is in flight.

Also here: our retry policy (exponential backoff with full jitter, a server's `retry-after`
wins when longer), shared by every HTTP backend.
"""

from __future__ import annotations

import asyncio
import queue
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator

from pipeline.generate.backends.base import BackendError
from pipeline.generate.request import Failure, Request, Response
from pipeline.generate.settings import GenerationSettings

Result = Response | Failure
_DONE = object()


def stream(
    requests: Iterable[Request],
    answer_one: Callable[[Request], Awaitable[Result]],
    concurrency: int,
) -> Iterator[tuple[Request, Result]]:
    results: queue.Queue = queue.Queue()
    state: dict = {"loop": None, "main": None, "fatal": None}
    source = iter(requests)

    async def one(request: Request, slots: asyncio.Semaphore) -> None:
        try:
            result: Result | BaseException = await answer_one(request)
        except BackendError as err:
            state["fatal"] = state["fatal"] or err
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
            while state["fatal"] is None:
                await slots.acquire()
                if state["fatal"] is not None:
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
        except Exception as err:  # e.g. from the request iterator: raised in the caller's thread
            results.put(err)
        finally:
            results.put(_DONE)

    def runner() -> None:
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        try:
            task = loop.create_task(main())
            state["main"] = task
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            results.put(_DONE)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=runner, name="msm-generate-io", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            item = results.get()
            if item is _DONE:
                finished = True
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not finished and state["loop"] is not None and state["main"] is not None:
            state["loop"].call_soon_threadsafe(state["main"].cancel)
        thread.join(timeout=30)
    if state["fatal"] is not None:
        raise state["fatal"]


def backoff_s(settings: GenerationSettings, retry: int, retry_after: float | None = None) -> float:
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
