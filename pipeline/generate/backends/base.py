"""The one interface every generation backend implements."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from pipeline.generate.request import Request, Response


class Backend(Protocol):
    name: str
    paid: bool
    """Whether responses cost money: paid responses are fsync'd into the cache one by one."""

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response]]:
        """Answer requests, in any order, yielding each as soon as it is complete."""
        ...
