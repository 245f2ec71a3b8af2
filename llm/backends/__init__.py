"""Backends behind one interface (`base.Backend`), chosen by name.

Each backend module is imported only when chosen, so the main environment never imports torch
for an API run, nor vllm at all unless asked.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from llm.backends.base import Backend
from llm.backends.offline import Answerer
from llm.errors import BackendError
from llm.pricing import Price
from llm.settings import LLMSettings

NAMES = ("offline", "hf", "anthropic", "openai", "vllm")


def make_backend(
    name: str,
    model: str,
    settings: LLMSettings,
    price: Price | None,
    cache_dir: Path,
    batches: bool = True,
    answerer: Answerer | None = None,
) -> Backend:
    """The backend `name` for `model`. `cache_dir` is the request cache it serves (the batch
    journal is keyed by it); `batches: False` keeps every request on the synchronous API;
    `answerer` is what the offline backend answers with (required for it)."""
    if name == "offline":
        from llm.backends.offline import OfflineBackend

        if answerer is None:
            raise BackendError("the offline backend needs an answerer from its client")
        return OfflineBackend(model, answerer)
    if name == "hf":
        from llm.backends.hf import HFBackend

        return HFBackend(model, batch_size=settings.hf_batch_size, device=settings.hf_device)
    if name == "vllm":
        from llm.backends.vllm import VLLMBackend

        return VLLMBackend(model, chunk_size=settings.vllm_chunk)
    if name == "anthropic":
        from llm.backends.anthropic import AnthropicBackend

        return AnthropicBackend(model, settings, price, journal_dir(cache_dir), batches=batches)
    if name == "openai":
        from llm.backends.openai import OpenAIBackend

        return OpenAIBackend(model, settings, price)
    raise BackendError(f"unknown backend {name!r}; known: {', '.join(NAMES)}")


def journal_dir(cache_dir: Path) -> Path:
    """Where a cache's batch journal lives: the run's working folder, never a DVC output."""
    work = Path(os.environ.get("MSM_WORK_DIR", ".msm/work"))
    tag = hashlib.sha256(str(cache_dir.resolve()).encode()).hexdigest()[:16]
    return work / "batches" / tag


__all__ = ["NAMES", "Backend", "BackendError", "make_backend"]
