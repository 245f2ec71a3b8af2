"""Generation backends behind one interface (see `base.Backend`), built from params.

Each backend module is imported only when chosen, so the main environment never imports
torch for an API run, nor vllm at all unless asked.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pipeline.config import GenerateParams
from pipeline.generate.backends.base import Backend, BackendError
from pipeline.generate.settings import GenerationSettings
from pipeline.runconfig import Price


def make_backend(
    gp: GenerateParams,
    settings: GenerationSettings,
    price: Price | None,
    cache_dir: Path,
    pilot: bool = False,
) -> Backend:
    if gp.backend == "offline":
        from pipeline.generate.backends.offline import OfflineBackend

        return OfflineBackend(gp.model)
    if gp.backend == "hf":
        from pipeline.generate.backends.hf import HFBackend

        return HFBackend(gp.model, batch_size=settings.hf_batch_size, device=settings.hf_device)
    if gp.backend == "vllm":
        from pipeline.generate.backends.vllm import VLLMBackend

        return VLLMBackend(gp.model, chunk_size=settings.vllm_chunk)
    if gp.backend == "anthropic":
        from pipeline.generate.backends.anthropic import AnthropicBackend

        return AnthropicBackend(
            gp.model, settings, price, journal_dir(cache_dir), batches=not pilot
        )
    if gp.backend == "openai":
        from pipeline.generate.backends.openai import OpenAIBackend

        return OpenAIBackend(gp.model, settings, price)
    raise BackendError(f"unknown generation backend {gp.backend!r}")


def journal_dir(cache_dir: Path) -> Path:
    """Where a cache's batch journal lives: the run's working folder, never a DVC output."""
    work = Path(os.environ.get("MSM_WORK_DIR", ".msm/work"))
    tag = hashlib.sha256(str(cache_dir.resolve()).encode()).hexdigest()[:16]
    return work / "batches" / tag


__all__ = ["Backend", "BackendError", "make_backend"]
