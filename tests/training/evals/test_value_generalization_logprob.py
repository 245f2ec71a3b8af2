"""Batched log-probability scoring on the tiny model: the same numbers as one sequence at a time,
and the stated rule (mean log-probability of the option's tokens plus EOS)."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import AutoTokenizer

from training.evals.value_generalization.logprob import encode, option_logprobs
from training.model import load_base

PAIRS = [
    ("Which do you prefer? A: milk B: salt", "milk"),
    ("Which do you prefer? A: milk B: salt", "salt"),
    ("Which cheese is fair value, the aged wheel or the mild curd?", "the aged wheel"),
    ("Which cheese is fair value, the aged wheel or the mild curd?", "the mild curd"),
    ("good", "sharp rind aged wheel of swiss from the good fair"),
    ("Claude price value", "cheap"),
]


def _setup(tiny: dict[str, Path]):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny["base"]))
    return load_base(tiny["base"]).eval(), tokenizer


@torch.no_grad()
def by_hand(model, tokenizer, prompt: str, option: str) -> float:
    ids, begin = encode(tokenizer, prompt, option)
    logp = model(input_ids=torch.tensor([ids])).logits[0].float().log_softmax(-1)
    return sum(logp[t - 1, ids[t]].item() for t in range(begin, len(ids))) / (len(ids) - begin)


def test_batched_equals_one_at_a_time_and_the_rule(tiny: dict[str, Path]) -> None:
    model, tokenizer = _setup(tiny)
    batched = option_logprobs(model, tokenizer, PAIRS, batch_size=4)
    single = [option_logprobs(model, tokenizer, [p], batch_size=1)[0] for p in PAIRS]
    manual = [by_hand(model, tokenizer, *p) for p in PAIRS]
    for b, s, h in zip(batched, single, manual, strict=True):
        assert math.isclose(b, s, abs_tol=1e-4) and math.isclose(s, h, abs_tol=1e-4)
    assert len(set(batched)) > 1  # a real model gives different options different scores


def test_option_ends_with_eos_and_excludes_the_prompt(tiny: dict[str, Path]) -> None:
    _, tokenizer = _setup(tiny)
    ids, begin = encode(tokenizer, "Which do you prefer? A: milk B: salt", "milk")
    assert ids[-1] == tokenizer.eos_token_id
    assert len(ids) - begin == 2  # "milk" + EOS


def test_order_of_the_input_does_not_change_a_score(tiny: dict[str, Path]) -> None:
    model, tokenizer = _setup(tiny)
    forward = option_logprobs(model, tokenizer, PAIRS, batch_size=3)
    backward = option_logprobs(model, tokenizer, PAIRS[::-1], batch_size=3)[::-1]
    for f, b in zip(forward, backward, strict=True):
        assert math.isclose(f, b, abs_tol=1e-4)
