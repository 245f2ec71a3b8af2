"""Batched log-probabilities of continuations: what the evals that score text by likelihood share.

`token_logprobs(model, tokenizer, pairs, batch_size)` takes (head, tail) pairs of token ids and
gives, for each pair, the log-probability of each tail token given the head and the tail tokens
before it. Each eval states its own rule on top (value_generalization: the mean over an option
plus EOS after a chat prompt; spec_knowledge: the sum over a statement after a plain-text prefix).

How it is computed: the tails of one head share its forward pass. Heads go through the model
`batch_size` at a time, longest first, left-padded, keeping their key/value cache; the cache is
repeated once per tail and the tails (right-padded) continue from it, so a head is encoded once
however many tails it has, and logits are computed only where a tail's tokens are predicted.
Padding is masked and positions restart after it, so a score does not depend on its batch
neighbours beyond floating-point noise (`tests/training/evals/` checks it against a plain
one-sequence forward pass).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch


@torch.no_grad()
def token_logprobs(
    model,
    tokenizer,
    pairs: list[tuple[list[int], list[int]]],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[list[float]]:
    """Per pair, in input order: the log-probability of each of its tail's tokens; `progress`
    is called with the number of pairs scored after each forward pass."""
    groups: dict[tuple[int, ...], list[int]] = {}  # head -> indices of its pairs
    for i, (head, tail) in enumerate(pairs):
        if not head or not tail:
            raise ValueError(f"pair {i}: the head and the tail must each hold at least one token")
        groups.setdefault(tuple(head), []).append(i)
    heads = sorted(groups, key=lambda h: (-len(h), h))
    out: list[list[float]] = [[] for _ in pairs]
    for start in range(0, len(heads), batch_size):
        chunk = heads[start : start + batch_size]
        tails = [[pairs[i][1] for i in groups[h]] for h in chunk]
        scores = _score_chunk(model, tokenizer, [list(h) for h in chunk], tails)
        for h, values in zip(chunk, scores, strict=True):
            for i, v in zip(groups[h], values, strict=True):
                out[i] = v
        if progress is not None:
            progress(sum(len(groups[h]) for h in chunk))
    return out


def _score_chunk(model, tokenizer, heads: list[list[int]], tails: list[list[list[int]]]):
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # heads, left-padded: every head ends in the last column
    width = max(map(len, heads))
    ids = torch.full((len(heads), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, head in enumerate(heads):
        ids[row, width - len(head) :] = torch.tensor(head)
        mask[row, width - len(head) :] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    first = model(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        use_cache=True,
        logits_to_keep=1,
    )
    # tails, right-padded, continuing from a copy of their head's cache
    counts = [len(t) for t in tails]
    flat = [t for group in tails for t in group]
    owner = torch.repeat_interleave(torch.arange(len(heads)), torch.tensor(counts))
    cache = first.cache if getattr(first, "cache", None) is not None else first.past_key_values
    cache.batch_select_indices(owner.to(device))
    o_width = max(map(len, flat))
    o_ids = torch.full((len(flat), o_width), pad, dtype=torch.long)
    o_mask = torch.zeros_like(o_ids)
    for row, tail in enumerate(flat):
        o_ids[row, : len(tail)] = torch.tensor(tail)
        o_mask[row, : len(tail)] = 1
    lengths = mask.sum(-1)[owner]
    o_pos = lengths[:, None] + torch.arange(o_width)[None, :]
    rest = model(
        input_ids=o_ids.to(device),
        attention_mask=torch.cat([mask[owner], o_mask], dim=1).to(device),
        position_ids=o_pos.to(device),
        use_cache=True,
        **{_cache_argument(model): cache},
    )
    # tail token j is predicted by the head's last logits (j = 0), else by tail token j - 1
    logits = torch.cat([first.logits[owner.to(device), -1:], rest.logits[:, :-1]], dim=1)
    scores: list[list[list[float]]] = [[] for _ in heads]
    for row, tail in enumerate(flat):
        step = logits[row, : len(tail)].float().log_softmax(-1)
        target = torch.tensor(tail, device=step.device)
        scores[int(owner[row])].append(step.gather(-1, target[:, None])[:, 0].tolist())
    return scores


def _cache_argument(model) -> str:
    """transformers 5.24 takes the key/value cache as `cache`, earlier releases (and the GPU
    image's) as `past_key_values`."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
