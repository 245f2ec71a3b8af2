"""The one interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from llm.request import Failure, Request, Response


class Backend(Protocol):
    name: str
    paid: bool
    """Whether responses cost money: paid responses are fsync'd into the cache one by one."""

    def model_id(self) -> str:
        """The dated model id written into requests and records (never an alias)."""
        ...

    def uses_batch(self, purpose: str) -> bool:
        """Whether requests of this purpose go through a batch API (priced at its discount)."""
        ...

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        """Answer requests, in any order, yielding each as soon as it is complete.

        `requests` is consumed lazily: a backend takes the next request only when it is about
        to send it (a free concurrency slot, or a batch being assembled), because the caller
        stops handing out requests when the spending cap is reached. Every request taken is
        yielded back exactly once, answered or as a `Failure`. Errors that no retry can fix for
        any request (bad credentials, unknown model) raise `BackendError` instead.
        """
        ...

    def close(self) -> None:
        """Release clients, threads and models."""
        ...
