"""Log-probability forced choice, batched: the mean token log-probability of each option as the
model's whole reply.

The rule: a candidate reply is the option's own tokens followed by the tokenizer's end-of-sequence
token (so the option must be the *whole* reply, not the start of a longer one), after the prompt
rendered by the model's chat template with the generation prompt (a tokenizer without a template
gets "Question: ...\\nAnswer: "). Its score is the mean of the log-probabilities of those tokens
(length-normalized, so a longer option is not penalized for its length).

How it is computed: the options of one prompt share its forward pass. Prompts go through the
model `batch_size` at a time, longest first, left-padded, keeping their key/value cache; the cache
is repeated once per option and the options (right-padded) continue from it, so a prompt is
encoded once however many options it has, and logits are computed only where an option's tokens
are predicted. Padding is masked and positions restart after it, so a score does not depend on
its batch neighbours beyond floating-point noise (`tests/training/evals/` checks it against a
plain one-sequence forward pass).
"""

from __future__ import annotations

import inspect

import torch


def prompt_text(tokenizer, prompt: str) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    return f"Question: {prompt}\nAnswer: "


def encode(tokenizer, prompt: str, option: str) -> tuple[list[int], int]:
    """The token ids of prompt + option + EOS, and where the option starts."""
    head = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    return head + _option_ids(tokenizer, option), len(head)


def _option_ids(tokenizer, option: str) -> list[int]:
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no EOS token; set eos_token")
    return tokenizer(option, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


@torch.no_grad()
def option_logprobs(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int) -> list[float]:
    """The mean token log-probability of each (prompt, option) pair's option, in input order."""
    groups: dict[str, list[int]] = {}  # prompt -> indices of its pairs
    for i, (prompt, _) in enumerate(pairs):
        groups.setdefault(prompt, []).append(i)
    heads = {
        p: tokenizer(prompt_text(tokenizer, p), add_special_tokens=False)["input_ids"]
        for p in groups
    }
    tails = [_option_ids(tokenizer, option) for _, option in pairs]
    prompts = sorted(groups, key=lambda p: (-len(heads[p]), p))
    out = [0.0] * len(pairs)
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start : start + batch_size]
        scores = _score_chunk(
            model,
            tokenizer,
            [heads[p] for p in chunk],
            [[tails[i] for i in groups[p]] for p in chunk],
        )
        for p, values in zip(chunk, scores, strict=True):
            for i, v in zip(groups[p], values, strict=True):
                out[i] = v
    return out


def _score_chunk(model, tokenizer, heads: list[list[int]], tails: list[list[list[int]]]):
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # prompts, left-padded: every prompt ends in the last column
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
    # options, right-padded, continuing from a copy of their prompt's cache
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
    # option token j is predicted by the prompt's last logits (j = 0), else by option token j - 1
    logits = torch.cat([first.logits[owner.to(device), -1:], rest.logits[:, :-1]], dim=1)
    scores: list[list[float]] = [[] for _ in heads]
    for row, tail in enumerate(flat):
        step = logits[row, : len(tail)].float().log_softmax(-1)
        target = torch.tensor(tail, device=step.device)
        scores[int(owner[row])].append(step.gather(-1, target[:, None]).mean().item())
    return scores


def _cache_argument(model) -> str:
    """transformers 5.24 takes the key/value cache as `cache`, earlier releases (and the GPU
    image's) as `past_key_values`."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
