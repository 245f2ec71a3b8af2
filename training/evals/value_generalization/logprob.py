"""Log-probability forced choice, batched: the mean token log-probability of each option as the
model's whole reply.

The rule: a candidate reply is the option's own tokens followed by the tokenizer's end-of-sequence
token (so the option must be the *whole* reply, not the start of a longer one), after the prompt
rendered by the model's chat template with the generation prompt (a tokenizer without a template
gets "Question: ...\\nAnswer: "). Its score is the mean of the log-probabilities of those tokens
(length-normalized, so a longer option is not penalized for its length). Every (prompt, option)
sequence of a run is scored in batches of `batch_size`, longest first so that a batch holds
sequences of similar length (less padding); padding is on the right and masked, so a sequence's
score does not depend on its batch neighbours beyond floating-point noise.
"""

from __future__ import annotations

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
    tail = tokenizer(option, add_special_tokens=False)["input_ids"]
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {tokenizer.name_or_path!r} has no EOS token; set eos_token")
    return head + tail + [tokenizer.eos_token_id], len(head)


@torch.no_grad()
def option_logprobs(model, tokenizer, pairs: list[tuple[str, str]], batch_size: int) -> list[float]:
    """The mean token log-probability of each (prompt, option) pair's option, in input order."""
    encoded = [encode(tokenizer, p, o) for p, o in pairs]
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i][0]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    device = next(model.parameters()).device
    out = [0.0] * len(encoded)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = len(encoded[chunk[0]][0])
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            seq = encoded[i][0]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for row, i in enumerate(chunk):
            seq, begin = encoded[i]
            # logits at position t predict token t + 1
            step = logits[row, begin - 1 : len(seq) - 1].float().log_softmax(-1)
            target = torch.tensor(seq[begin:], device=step.device)
            out[i] = step.gather(-1, target[:, None]).mean().item()
    return out
