"""Sampling replies through the LLM layer, for every eval that samples (and for judges).

Each chat is asked `samples` times (sample index 0..samples-1), every request answered by a
`Runner` from the eval's content-addressed cache or by the backend: `hf` on a local model
folder, `openai` on an OpenAI-compatible server (`vllm serve`), or `anthropic`. A request the
backend could not answer stops the eval (exit 3) with the answers so far kept in the cache; a
re-run asks only for the rest. Local models and self-hosted servers have no spending cap; a paid
backend (anthropic) needs a run.yaml price, and `cap_usd` stops it before that much is spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import Price, SpendCap
from llm.request import Failure, Message, Request, Sampling
from llm.runner import Runner
from pipeline.config.run import RunConfig
from pipeline.errors import ConfigError, Incomplete


@dataclass(frozen=True)
class Chat:
    """What one prompt sends: an optional system prompt and the messages."""

    messages: tuple[Message, ...]
    system: str = ""


def sample(
    backend_name: str,
    model: str,
    chats: list[Chat],
    sampling: Sampling,
    samples: int,
    purpose: str,
    cache_dir: Path,
    run_config: RunConfig,
    cap_usd: float = math.inf,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, list[list[str]]]:
    """The model id and, for each chat, its `samples` reply texts; `progress` is called with
    the number of requests answered (from the cache or the backend) as they are."""
    price = check_price(backend_name, model, run_config)
    backend = make_backend(backend_name, model, run_config.llm, price, cache_dir)
    try:
        model_id = backend.model_id()
        requests = [
            [
                Request(
                    backend_name,
                    model_id,
                    chat.messages,
                    sampling,
                    system=chat.system,
                    purpose=purpose,
                    sample_index=k,
                )
                for k in range(samples)
            ]
            for chat in chats
        ]
        cap = SpendCap(cap_usd if price is not None else math.inf, price)
        with RequestCache(cache_dir, durable=backend.paid) as cache:
            runner = Runner(
                backend,
                cache,
                cap,
                progress=False,
                drain_s=run_config.llm.drain_s,
                on_answer=progress,
            )
            with runner.graceful():
                answers = runner.answer([r for group in requests for r in group])
    finally:
        backend.close()
    failed = [a for a in answers.values() if isinstance(a, Failure)]
    if failed:
        reasons = sorted({f.reason for f in failed})
        raise Incomplete(
            f"{purpose}: {len(failed)} of {len(answers)} requests to {model_id} failed "
            f"({', '.join(reasons)}); the answers received are in {cache_dir}: re-run to ask "
            "for the rest"
        )
    return model_id, [[answers[r.key].text for r in group] for group in requests]  # type: ignore[union-attr]


def check_price(backend_name: str, model: str, run_config: RunConfig) -> Price | None:
    """The run.yaml price of `model`; a ConfigError for a paid backend (anthropic) without one."""
    price = run_config.price(backend_name, model)
    if backend_name == "anthropic" and price is None:
        raise ConfigError(
            f"run.yaml has no price for {backend_name}/{model}: add it under `prices:` (the "
            "spending cap needs it), e.g. {input_per_mtok: 3.0, output_per_mtok: 15.0}"
        )
    return price


def check_served(section: str, backend: str, served: dict[str, str], arms: list[str]) -> None:
    """With the openai backend every arm needs its served model id, else a ConfigError."""
    if backend != "openai":
        return
    missing = [arm for arm in arms if not served.get(arm)]
    if missing:
        raise ConfigError(
            f"params.yaml: {section}.served has no model id for {', '.join(missing)}; add "
            f"`{missing[0]}: <the served model id>` for every arm in evaluate.models"
        )
