"""Statement scoring throughput of the spec-knowledge eval, and each shipped set's rate.

`statement_logprobs` (the prefix encoded once per forward pass, `--batch-size` statements
continuing from its key/value cache, logits only where statement tokens are predicted) vs a
naive loop (one prefix + statement sequence per forward pass, full logits), on the same
statements: every pair of every checked-in set (`training/evals/spec_knowledge/data/`), both
statements each. A real model folder (`--model`, e.g. SmolLM2-135M as `models/base`), so the
rates printed per spec are that model's spec knowledge. Prints statements/s for both (the
naive loop on the first `--naive-limit` statements of each set), the ratio, the largest score
difference between the two paths, and per spec: pairs, rate, SEM and the time of the eval of
that spec (every pair) for one arm.

    python bench/spec_knowledge_throughput.py --model models/base --device cpu --dtype float32 \\
        --naive-limit 16
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from shapes import timed
from transformers import AutoModelForCausalLM, AutoTokenizer

from pipeline.spec import load_spec
from training.evals.spec_knowledge.pairs import known_sets, load_set, resolve
from training.evals.spec_knowledge.prompts import load_prompts, prefix
from training.evals.spec_knowledge.run import statement_logprobs
from training.evals.spec_knowledge.scorer import pair_score, summarize


@torch.no_grad()
def naive(model, tokenizer, head: str, statements: list[str], device: str) -> list[float]:
    h = tokenizer(head, add_special_tokens=False)["input_ids"]
    out = []
    for text in statements:
        ids = h + tokenizer(text, add_special_tokens=False)["input_ids"]
        logp = model(input_ids=torch.tensor([ids], device=device)).logits[0].float()
        logp = logp.log_softmax(-1)
        target = torch.tensor(ids[len(h) :], device=device)
        out.append(logp[len(h) - 1 : len(ids) - 1].gather(-1, target[:, None]).sum().item())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="a model folder")
    ap.add_argument("--specs", type=Path, default=Path("specs"))
    ap.add_argument("--batch-size", type=int, default=16, help="statements per forward pass")
    ap.add_argument(
        "--naive-limit",
        type=int,
        default=0,
        help="statements per set the naive loop times (0: all)",
    )
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    dtype = getattr(torch, args.dtype)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=dtype).to(args.device).eval()
    prompts, _ = load_prompts()
    sets = {}
    for name in known_sets():
        spec = load_spec(args.specs / f"{name}.md")
        sets[name] = (prefix(prompts, spec), resolve(load_set(spec), spec))
    work = [
        (name, head, [t for p in pairs for t in (p.consistent, p.inconsistent)])
        for name, (head, pairs) in sets.items()
    ]
    statement_logprobs(model, tokenizer, work[0][1], work[0][2][:8], args.batch_size)  # warm-up
    ours, t_ours, per_spec, size = {}, 0.0, {}, args.batch_size
    for name, head, texts in work:
        got, t = timed(lambda h=head, x=texts: statement_logprobs(model, tokenizer, h, x, size))
        ours[name], t_ours, per_spec[name] = [s for s, _ in got], t_ours + t, t
    theirs, t_naive, n_naive = {}, 0.0, 0
    for name, head, texts in work:
        subset = texts[: args.naive_limit or None]
        got, t = timed(lambda h=head, x=subset: naive(model, tokenizer, h, x, args.device))
        theirs[name], t_naive, n_naive = got, t_naive + t, n_naive + len(subset)
    n_pairs = sum(len(pairs) for _, pairs in sets.values())
    diff = max(abs(a - b) for n in ours for a, b in zip(ours[n], theirs[n], strict=False))
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(f"{args.model} on {device}, {args.dtype}, {len(sets)} sets, {n_pairs} pairs")
    ours_sps, naive_sps = 2 * n_pairs / t_ours, n_naive / t_naive
    print(f"ours : {2 * n_pairs} statements in {t_ours:.2f} s, {ours_sps:.1f} statements/s")
    print(f"naive: {n_naive} statements in {t_naive:.2f} s, {naive_sps:.1f} statements/s")
    print(f"ours / naive: {ours_sps / naive_sps:.1f}x; max |score difference| {diff:.3g}")
    for name, (_, pairs) in sets.items():
        s = ours[name]
        rows = [(p.section, pair_score(s[2 * i], s[2 * i + 1]), 0.0) for i, p in enumerate(pairs)]
        m = summarize(rows)
        print(
            f"  {name:22s} {m['n']:3d} pairs  rate {m['rate']:.3f} (SEM {m['sem']:.3f})  "
            f"one arm: {per_spec[name]:.2f} s"
        )


if __name__ == "__main__":
    main()
