"""Log-probability forced choice, batched: the mean token log-probability of each option as the
model's whole reply.

The rule: a candidate reply is the option's own tokens followed by the tokenizer's end-of-sequence
token (so the option must be the *whole* reply, not the start of a longer one), after the prompt
rendered by the model's chat template with the generation prompt (a tokenizer without a template
gets "Question: ...\\nAnswer: "). Its score is the mean of the log-probabilities of those tokens
(length-normalized, so a longer option is not penalized for its length).

Computed by the shared batched machinery of `training/evals/logprob.py` (one forward pass per
prompt, its key/value cache reused by every option).
"""

from __future__ import annotations

from collections.abc import Callable

from training.evals.logprob import token_logprobs


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


def option_logprobs(
    model,
    tokenizer,
    pairs: list[tuple[str, str]],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> list[float]:
    """The mean token log-probability of each (prompt, option) pair's option, in input order;
    `batch_size` prompts per forward pass (`progress`: called with the options scored)."""
    heads = {
        p: tokenizer(prompt_text(tokenizer, p), add_special_tokens=False)["input_ids"]
        for p in dict.fromkeys(p for p, _ in pairs)
    }
    encoded = [(heads[p], _option_ids(tokenizer, option)) for p, option in pairs]
    scored = token_logprobs(model, tokenizer, encoded, batch_size, progress)
    return [sum(t) / len(t) for t in scored]
