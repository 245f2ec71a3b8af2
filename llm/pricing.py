"""Prices, what answers cost, and the hard spending cap.

The cap covers a client's whole output (a corpus, an AFT set): every answer the run uses (from
the cache or new) counts at the price it was bought for, and a request is sent only when the
spend so far, plus the worst case of every request in flight, plus its own worst case (its
prompt at 3 characters per token and all of `max_tokens`) stays within the cap. So the stage
stops before the cap, never after it, and whatever was bought is already in the cache when it
stops.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from llm.request import Request, Response


@dataclass(frozen=True)
class Price:
    """USD per million tokens of one backend's model."""

    input_per_mtok: float
    output_per_mtok: float
    batch_discount: float = 0.0
    """Fraction saved by the provider's batch API (0.5 for Anthropic Message Batches)."""

    def __post_init__(self) -> None:
        if min(self.input_per_mtok, self.output_per_mtok) < 0:
            raise ValueError("`input_per_mtok` and `output_per_mtok` must be >= 0")
        if not 0.0 <= self.batch_discount <= 1.0:
            raise ValueError(f"`batch_discount` is a fraction in [0, 1], got {self.batch_discount}")


CACHE_WRITE_FACTOR = 1.25
"""Prompt-cache writes cost 1.25x the input price, reads 0.1x (Anthropic's published factors)."""
CACHE_READ_FACTOR = 0.1
WORST_CHARS_PER_TOKEN = 3


def cost_usd(
    price: Price | None,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    batch: bool = False,
) -> float:
    if price is None:
        return 0.0
    usd = (
        input_tokens * price.input_per_mtok
        + cache_write_tokens * price.input_per_mtok * CACHE_WRITE_FACTOR
        + cache_read_tokens * price.input_per_mtok * CACHE_READ_FACTOR
        + output_tokens * price.output_per_mtok
    ) / 1e6
    return usd * (1 - price.batch_discount) if batch else usd


class SpendCap:
    def __init__(self, cap_usd: float, price: Price | None):
        self.cap_usd = cap_usd
        self.price = price
        self.spent = 0.0
        self._reserved: dict[str, float] = {}
        self._lock = threading.Lock()

    def worst_case(self, request: Request, batch: bool) -> float:
        chars = request.chars()
        return cost_usd(
            self.price, chars // WORST_CHARS_PER_TOKEN + 1, request.sampling.max_tokens, batch=batch
        )

    def reserve(self, request: Request, batch: bool) -> bool:
        """Book a request's worst case; False (and nothing booked) when it would break the cap."""
        worst = self.worst_case(request, batch)
        with self._lock:
            if self.spent + sum(self._reserved.values()) + worst > self.cap_usd + 1e-12:
                return False
            self._reserved[request.key] = worst
            return True

    def settle(self, request: Request, response: Response | None) -> None:
        """Release a request's booking and count what its answer cost (None: nothing bought)."""
        with self._lock:
            self._reserved.pop(request.key, None)
            if response is not None:
                self.spent += response.cost_usd

    def count(self, response: Response) -> None:
        """Count an answer that came from the cache."""
        with self._lock:
            self.spent += response.cost_usd


PREVIEW_CHARS_PER_TOKEN = 4
"""A preview estimates input tokens from rendered prompts at 4 characters per token."""


@dataclass(frozen=True)
class Level:
    """Projected requests and tokens of one request purpose: a row of a cost preview."""

    name: str
    requests: int
    input_tokens: int
    output_tokens: int


class Projection:
    """Requests and tokens per level (request purpose), summed over `add` calls, before any call."""

    def __init__(self, names: list[str]):
        self._acc = {name: [0, 0, 0] for name in names}

    def add(self, level: str, n: int, request: Request, output_tokens: int) -> None:
        """`n` requests like `request`, each expected to answer `output_tokens` tokens."""
        acc = self._acc[level]
        acc[0] += n
        acc[1] += n * ((len(request.system) + len(request.prompt)) // PREVIEW_CHARS_PER_TOKEN)
        acc[2] += n * output_tokens

    def levels(self) -> list[Level]:
        """The levels that send any request, in the order they were named."""
        return [Level(name, *acc) for name, acc in self._acc.items() if acc[0]]


def projected_costs(
    levels: list[Level], prices: dict[str, dict[str, Price]], batch_purposes: list[str]
) -> list[tuple[str, str, float, float]]:
    """(backend, model, standard USD, batch USD) for every priced model; the batch column prices
    the levels in `batch_purposes` at the model's batch discount."""
    out = []
    for backend, models in sorted(prices.items()):
        for model, price in sorted(models.items()):
            usd = sum(cost_usd(price, lv.input_tokens, lv.output_tokens) for lv in levels)
            batch = sum(
                cost_usd(price, lv.input_tokens, lv.output_tokens, batch=lv.name in batch_purposes)
                for lv in levels
            )
            out.append((backend, model, usd, batch))
    return out
