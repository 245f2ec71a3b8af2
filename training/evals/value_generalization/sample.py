"""Generate mode: sample each reply through the LLM layer and parse the letter it chooses.

Requests are ordinary `llm.request.Request`s (purpose `eval/value_generalization`), answered by a
`Runner` from its content-addressed cache or by the backend: `hf` on a local model folder, or
`openai` on an OpenAI-compatible server (`vllm serve`). A request the backend could not answer
stops the eval (exit 3) with the answers so far kept in the cache; a re-run asks only for the
rest. No spending cap applies: this path is for local models and self-hosted servers.
"""

from __future__ import annotations

import math
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.request import Failure, Request, Sampling, user
from llm.runner import Runner
from pipeline.config.params import ValueGeneralizationParams
from pipeline.config.run import RunConfig
from pipeline.errors import Incomplete

PURPOSE = "eval/value_generalization"


def sample(
    model: str,
    prompts: list[str],
    vp: ValueGeneralizationParams,
    seed: int,
    cache_dir: Path,
    run_config: RunConfig,
) -> tuple[str, list[list[str]]]:
    """The model id and, for each prompt, its `vp.samples` replies."""
    backend = make_backend(
        vp.backend, model, run_config.llm, run_config.price(vp.backend, model), cache_dir
    )
    try:
        model_id = backend.model_id()
        sampling = Sampling(temperature=vp.temperature, max_tokens=vp.max_tokens, seed=seed)
        requests = [
            [
                Request(vp.backend, model_id, user(p), sampling, purpose=PURPOSE, sample_index=k)
                for k in range(vp.samples)
            ]
            for p in prompts
        ]
        cap = SpendCap(math.inf, None)
        with RequestCache(cache_dir, durable=backend.paid) as cache:
            runner = Runner(backend, cache, cap, progress=False, drain_s=run_config.llm.drain_s)
            with runner.graceful():
                answers = runner.answer([r for group in requests for r in group])
    finally:
        backend.close()
    failed = [a for a in answers.values() if isinstance(a, Failure)]
    if failed:
        reasons = sorted({f.reason for f in failed})
        raise Incomplete(
            f"value_generalization: {len(failed)} of {len(answers)} requests to {model_id} "
            f"failed ({', '.join(reasons)}); the answers received are in {cache_dir}: re-run "
            "to ask for the rest"
        )
    return model_id, [[answers[r.key].text for r in group] for group in requests]  # type: ignore[union-attr]
