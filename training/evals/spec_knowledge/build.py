"""A pair set for a spec without a checked-in one, built through the LLM layer from the spec's
assertions (`pipeline.spec.decompose`): one request per assertion (purpose
`eval/spec_knowledge`, the `build` template of `data/prompts.yaml`), answered from the request
cache or by the backend under the spending cap. The offline backend answers with the
model-free `SpecKnowledgeAnswerer`.

An answer yields a pair when it holds both `<consistent>` and `<inconsistent>` and they form a
minimal pair (`pairs.check_pair`); every other assertion is dropped and counted by reason:
`no_pair` (no tags in the answer), `unusable` (the statements are empty, identical or differ in
length by more than `MAX_WORD_GAP` words), `duplicate` (a statement of an earlier pair). A
request the backend could not answer stops the eval (exit 3) with the answers so far kept in
the cache; a re-run asks only for the rest.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.request import Failure, Request, Sampling, user
from llm.runner import Runner
from pipeline.config.params import SpecKnowledgeParams
from pipeline.config.run import RunConfig
from pipeline.errors import ConfigError, Incomplete, InputError
from pipeline.spec import Spec
from pipeline.spec.decompose import decompose
from training.evals.spec_knowledge.answerer import PURPOSE, SpecKnowledgeAnswerer
from training.evals.spec_knowledge.pairs import MAX_WORD_GAP, EvalPair, check_pair, pair_id
from training.evals.spec_knowledge.prompts import Prompts

KEYS = ("consistent", "inconsistent")
_TAG = {k: re.compile(rf"<{k}>\s*(.*?)\s*</{k}>", re.DOTALL) for k in KEYS}


@dataclass(frozen=True)
class Built:
    pairs: list[EvalPair]
    model_id: str
    assertions: int
    dropped: dict[str, int]


def build_pairs(
    spec: Spec,
    sp: SpecKnowledgeParams,
    prompts: Prompts,
    seed: int,
    cache_dir: Path,
    run_config: RunConfig,
) -> Built:
    assertions = [(sec, a) for sec in decompose(spec) for a in sec.assertions]
    if not assertions:
        raise InputError(f"{spec.path}: no assertions to build spec-knowledge pairs from")
    price = run_config.price(sp.backend, sp.model)
    backend = make_backend(
        sp.backend, sp.model, run_config.llm, price, cache_dir, answerer=SpecKnowledgeAnswerer()
    )
    try:
        model_id = backend.model_id()
        if backend.paid and price is None:
            raise ConfigError(
                f"run.yaml has no price for {sp.backend}/{model_id}: add it under `prices:` "
                "(the spending cap of evaluate.spec_knowledge.max_spend_usd needs it)"
            )
        sampling = Sampling(temperature=sp.temperature, max_tokens=sp.max_tokens, seed=seed)
        requests = [
            Request(
                sp.backend,
                model_id,
                user(_prompt(prompts, spec, sec.title, a.text)),
                sampling,
                purpose=PURPOSE,
                context={"assertion": a.text, "model_name": spec.model_name},
            )
            for sec, a in assertions
        ]
        cap = SpendCap(sp.max_spend_usd if price is not None else math.inf, price)
        with RequestCache(cache_dir, durable=backend.paid) as cache:
            runner = Runner(backend, cache, cap, progress=False, drain_s=run_config.llm.drain_s)
            with runner.graceful():
                answers = runner.answer(requests)
    finally:
        backend.close()
    failed = [a for a in answers.values() if isinstance(a, Failure)]
    if failed:
        reasons = sorted({f.reason for f in failed})
        raise Incomplete(
            f"spec_knowledge: {len(failed)} of {len(answers)} requests to {model_id} failed "
            f"({', '.join(reasons)}); the answers received are in {cache_dir}: re-run to ask "
            "for the rest"
        )
    pairs: list[EvalPair] = []
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    for (sec, _), request in zip(assertions, requests, strict=True):
        text = answers[request.key].text  # type: ignore[union-attr]
        found = [_TAG[k].search(text) for k in KEYS]
        if not all(found):
            dropped["no_pair"] += 1
            continue
        c, i = (" ".join(m.group(1).split()) for m in found)  # type: ignore[union-attr]
        if check_pair(c, i) is not None:
            dropped["unusable"] += 1
            continue
        if c.lower() in seen or i.lower() in seen:
            dropped["duplicate"] += 1
            continue
        seen |= {c.lower(), i.lower()}
        pairs.append(EvalPair(pair_id(sec.id, c, i), sec.id, c, i))
    return Built(pairs, model_id, len(assertions), dict(sorted(dropped.items())))


def _prompt(prompts: Prompts, spec: Spec, section: str, assertion: str) -> str:
    return prompts.build.format(
        model_name=spec.model_name,
        provider_name=spec.provider_name,
        section=section,
        assertion=assertion,
        max_word_gap=MAX_WORD_GAP,
    )
