"""The `vllm` backend: an in-process `vllm.LLM` on a GPU host.

vLLM is an optional extra with its own environment: vllm 0.33.0 pins torch 2.14 and
transformers < 5.21, which cannot share the pipeline's environment (requirements/cpu.txt). On a
GPU host, `pip install -r requirements/vllm.txt` into a separate venv that also holds this
package; from the main environment, run `vllm serve` and drive it through the `openai` backend.
This module imports vllm only when the first request arrives, so importing it is always safe.
It is not exercised against a real vLLM by the test suite (no GPU there); a fake `vllm` module
covers the glue.

Each request carries its own seed (from its key) in `SamplingParams`, so an answer does not
depend on the other requests of its chunk.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any

from llm.backends.hf import chat_messages, check_model_folder, folder_model_id
from llm.errors import BackendError
from llm.request import Failure, Request, Response

log = logging.getLogger(__name__)

INSTALL = (
    "vllm is not installed in this environment. It needs its own: on a GPU host, "
    "`pip install -r requirements/vllm.txt` in a separate venv; or, from the main environment, "
    "run `vllm serve <model>` and use the `openai` backend against it"
)
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


class VLLMBackend:
    name = "vllm"
    paid = False

    def __init__(self, model_path: str | Path, chunk_size: int = 256, seed: int = 0) -> None:
        """`model_path`: a local Hugging Face model folder; `chunk_size`: requests handed to
        vLLM at once (it schedules them itself); `seed`: the engine's seed."""
        if importlib.util.find_spec("vllm") is None:
            raise BackendError(INSTALL)
        self.path = check_model_folder(model_path)
        if chunk_size < 1:
            raise BackendError(f"vllm backend: chunk_size must be >= 1, got {chunk_size}")
        self.chunk_size = chunk_size
        self.seed = seed
        self._llm: Any = None

    @cached_property
    def _model_id(self) -> str:
        return folder_model_id(self.path)

    def model_id(self) -> str:
        return self._model_id

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        pending = iter(requests)
        while chunk := list(islice(pending, self.chunk_size)):
            llm, sampling_params = self._load()
            params = [
                sampling_params(
                    temperature=r.sampling.temperature,
                    max_tokens=r.sampling.max_tokens,
                    seed=int(r.key[:15], 16),
                )
                for r in chunk
            ]
            try:
                outputs = llm.chat(
                    [chat_messages(r) for r in chunk], sampling_params=params, use_tqdm=False
                )
                results = [_response(out) for out in outputs]
                if len(results) != len(chunk):
                    raise RuntimeError(f"{len(results)} outputs for {len(chunk)} requests")
            except Exception as err:  # engine errors: the chunk's requests are not lost
                log.warning("vllm: %d requests failed: %s: %s", len(chunk), type(err).__name__, err)
                detail = f"{type(err).__name__}: {err}"[:500]
                results = [Failure("generation_error", detail)] * len(chunk)
            yield from zip(chunk, results, strict=True)

    def uses_batch(self, kind: str) -> bool:
        return False

    def close(self) -> None:
        self._llm = None

    def _load(self) -> tuple[Any, Any]:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as err:
            raise BackendError(f"{INSTALL} ({err})") from err
        if self._llm is None:
            self._llm = LLM(model=str(self.path), seed=self.seed)
            log.info("vllm: %s", self.model_id())
        return self._llm, SamplingParams


def _response(out: Any) -> Response | Failure:
    completion = out.outputs[0]
    stop = _STOP_REASONS.get(completion.finish_reason)
    if stop is None:
        return Failure("generation_error", f"vllm finish_reason {completion.finish_reason!r}")
    return Response(
        text=completion.text,
        input_tokens=len(out.prompt_token_ids or []),
        output_tokens=len(completion.token_ids),
        stop_reason=stop,
        cost_usd=0.0,
    )
