"""Forced-choice scoring throughput of the value-generalization eval.

`option_logprobs` (each prompt encoded once, its options continuing from the prompt's key/value
cache, logits only where option tokens are predicted, `--batch-size` prompts per forward) vs a
naive loop (one prompt + option sequence per forward pass, full logits), on the same sequences:
every item of the shipped sets (or `--max-items` per set) in both orders, two options each.
Random-initialized models at real shapes (weights do not change speed), bf16 on a GPU, with the
tokenizer of `--tokenizer` (a model folder; the model's vocabulary is the shape's, so the logits
cost what they do for the real model). Prints items/s and sequences/s for both, the ratio, the
time for the whole eval of one model, and the largest score difference between the two paths.

    python bench/value_generalization_throughput.py --tokenizer models/base --shape qwen2.5-1.5b
    python bench/value_generalization_throughput.py --tokenizer models/base --shape smollm2-135m \\
        --max-items 4 --naive-limit 16 --device cpu --dtype float32     # CPU smoke
"""

from __future__ import annotations

import argparse

import torch
from shapes import SHAPES, build_model, timed
from transformers import AutoTokenizer

from training.evals.value_generalization.items import load_set, resolve, select
from training.evals.value_generalization.logprob import encode, option_logprobs
from training.evals.value_generalization.prompts import ORDERS, load_prompts, render


def naive(model, tokenizer, pairs: list[tuple[str, str]], device: str) -> list[float]:
    out = []
    with torch.no_grad():
        for prompt, option in pairs:
            ids, begin = encode(tokenizer, prompt, option)
            logits = model(input_ids=torch.tensor([ids], device=device)).logits[0].float()
            logp = logits.log_softmax(-1)
            target = torch.tensor(ids[begin:], device=device)
            out.append(logp[begin - 1 : len(ids) - 1].gather(-1, target[:, None]).mean().item())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokenizer", required=True, help="a model folder with the tokenizer")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b")
    ap.add_argument("--max-items", type=int, default=0, help="items per set (0: all)")
    ap.add_argument("--batch-size", type=int, default=64, help="prompts per forward pass")
    ap.add_argument("--naive-limit", type=int, default=400, help="sequences the naive loop times")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    model = build_model(args.shape, getattr(torch, args.dtype), args.device).eval()
    prompts, _ = load_prompts()
    items = [
        it
        for name in ("affordability", "america")
        for it in select(resolve(name, load_set(name)), args.max_items)
    ]
    pairs = [
        (render(prompts.choice, it, order), option)
        for it in items
        for order in ORDERS
        for option in (it.aligned, it.other)
    ]
    option_logprobs(model, tokenizer, pairs[:64], args.batch_size)  # warm-up
    ours, t_ours = timed(lambda: option_logprobs(model, tokenizer, pairs, args.batch_size))
    subset = pairs[: args.naive_limit]
    naive(model, tokenizer, subset[:8], args.device)  # warm-up
    theirs, t_naive = timed(lambda: naive(model, tokenizer, subset, args.device))
    ours_sps, naive_sps = len(pairs) / t_ours, len(subset) / t_naive
    diff = max(abs(a - b) for a, b in zip(ours, theirs, strict=False))
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(f"{args.shape} on {name}, {args.dtype}, {len(items)} items, {len(pairs)} sequences")
    print(f"ours : {t_ours:7.2f} s  {len(items) / t_ours:9.1f} items/s  {ours_sps:9.1f} seq/s")
    print(
        f"naive: {len(subset)} sequences in {t_naive:.2f} s, {naive_sps:9.1f} seq/s "
        f"({naive_sps / 4:.1f} items/s; the whole eval would take {len(pairs) / naive_sps:.1f} s)"
    )
    print(f"ours / naive: {ours_sps / naive_sps:.1f}x; max |score difference| {diff:.3g}")


if __name__ == "__main__":
    main()
