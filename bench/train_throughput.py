"""MSM training throughput of `msm train-msm`'s loop next to trl + peft, same documents, same run.

    python bench/train_throughput.py --shape qwen2.5-1.5b --method lora \\
        --runners ours,trl,trl-packing --steps 20
    python bench/train_throughput.py --shape tiny --runners ours,trl --steps 3   # CPU smoke

Models are randomly initialized at real shapes (weights do not change speed). The documents are
random token ids with lognormal lengths (mean ~1,500 tokens, as the paper's corpora), the same
for every runner. Each runner is a fresh process (its own CUDA memory) and reports useful
(non-padding) tokens per second over the timed steps, after `--warmup` untimed steps (compile):
- `ours`: the train_msm loop (`training.train.prepare` + `training.loop.train_step`) on shards
  packed by `pipeline.pack.packing.layout` into rows of `--seq-len`; run.yaml defaults on a GPU
  (flex attention with a block-causal mask, compiled decoder layers, Liger fused linear
  cross-entropy, bf16 autocast, fused AdamW); `--batch-tokens` per step;
- `trl`: trl's `SFTTrainer` with a peft `LoraConfig` (or full fine-tuning), its defaults (bf16,
  gradient checkpointing, batch 8 documents, no packing), `max_length` = `--seq-len`;
- `trl-packing`: the same with `packing=True`.
MFU (ours) follows `training.flops`: 4N (LoRA) or 6N (full) per token plus block-causal
attention, over the datasheet's 989 TFLOP/s dense bf16 of an H100/H200.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from shapes import SHAPES, build_model, trl_tokens_per_s

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def documents(n_tokens: int, vocab: int, mean: float, seed: int) -> list:
    import numpy as np

    rng = np.random.default_rng(seed)
    sigma = 0.8
    mu = np.log(mean) - sigma**2 / 2
    docs, total = [], 0
    while total < n_tokens:
        n = int(np.clip(rng.lognormal(mu, sigma), 32, 16 * mean))
        doc = rng.integers(2, vocab, size=n, dtype=np.int64)
        doc[-1] = 1  # EOS
        docs.append(doc)
        total += n
    return docs


def run_ours(args, docs, device) -> dict:
    import numpy as np
    import torch

    from pipeline.config.params import LoraParams, load_params
    from pipeline.config.run import TrainingSettings
    from pipeline.pack.packing import layout
    from training.data import PackedDataset
    from training.distributed import World
    from training.flops import attention_context, peak_flops, step_flops
    from training.loop import plan_steps, train_step
    from training.train import attention_for, flop_shape, load_dtype, prepare, runtime

    cuda = device == "cuda"
    default = load_params("params.yaml", None).train_msm  # run from the repository root
    tp = replace(
        default,
        method=args.method,
        max_steps=args.steps + args.warmup,
        batch_tokens=args.batch_tokens,
        micro_batch_rows=args.micro_rows,
        precision="bf16" if cuda else "fp32",
        lora=LoraParams(r=64, alpha=128, dropout=0.0, target_modules=TARGETS),
    )
    settings = TrainingSettings(gradient_checkpointing=args.checkpointing)
    world = World(0, 1, torch.device(device))
    with tempfile.TemporaryDirectory() as tmp:
        data, seg = layout(docs, args.seq_len, 0, 0)
        np.save(Path(tmp) / "train_tokens.npy", data.astype(np.int32))
        np.save(Path(tmp) / "train_segments.npy", seg)
        (Path(tmp) / "manifest.json").write_text(json.dumps({"seq_len": args.seq_len}))
        ds = PackedDataset(Path(tmp), "train")
    attention = attention_for(settings, world.device)
    base = build_model(
        args.shape, getattr(torch, load_dtype(tp)), device, attention, use_cache=False
    )
    model, module = prepare(base, tp, settings, world, attention)
    plan = plan_steps(tp, args.seq_len, len(ds), 1, 0)
    rt = runtime(module, tp, plan, world, attention)
    shape = flop_shape(model, tp)
    context = np.array([attention_context(s[:, 2]) for s in ds.segments], dtype=np.int64)
    tokens = flops = 0.0
    timed = 0.0
    for step in range(plan.total_steps):
        rows = plan.rows_of(step, len(ds))
        t0 = time.perf_counter()
        train_step(rt, ds, rows, plan, tp.max_grad_norm)
        rt.optimizer.step()
        rt.scheduler.step()
        rt.optimizer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        if step >= args.warmup:
            timed += time.perf_counter() - t0
            n = int(ds.row_tokens[rows].sum())
            tokens += n
            flops += step_flops(tokens=n, context=int(context[rows].sum()), **shape)
    peak = peak_flops(world.device)
    return {
        "tokens_per_s": tokens / timed,
        "mfu": flops / timed / peak if peak else None,
        "padding": round(1 - float(ds.row_tokens.sum()) / ds.tokens.size, 4),
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
    }


def run_trl(args, docs, device, packing: bool) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast
    from trl import SFTConfig, SFTTrainer

    tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer(models.WordLevel({"<pad>": 0, "<eos>": 1}, unk_token="<pad>")),
        pad_token="<pad>",
        eos_token="<eos>",
    )
    data = Dataset.from_dict({"input_ids": [d.tolist() for d in docs]})
    model = build_model(args.shape, torch.float32, device, use_cache=False)
    peft = None
    if args.method == "lora":
        peft = LoraConfig(r=64, lora_alpha=128, lora_dropout=0.0, target_modules=TARGETS)
    with tempfile.TemporaryDirectory() as tmp:
        config = SFTConfig(
            output_dir=tmp,
            max_steps=args.steps + args.warmup,
            max_length=args.seq_len,
            packing=packing,
            report_to=[],
            save_strategy="no",
            logging_steps=1000,
            use_cpu=device != "cuda",
            bf16=device == "cuda",
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model, args=config, train_dataset=data, processing_class=tok, peft_config=peft
        )
        tokens_per_s = trl_tokens_per_s(
            trainer, args.warmup, args.steps, device == "cuda", count=_real_tokens
        )
    return {
        "tokens_per_s": tokens_per_s,
        "mfu": None,
        "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None,
    }


def _real_tokens(batch: dict) -> int:
    """A batch's attended tokens; without a mask, its non-padding ids (pad id 0)."""
    mask = batch.get("attention_mask")
    ids = batch["input_ids"]
    return int(mask.sum()) if mask is not None else int((ids != 0).sum())


def one(args) -> None:
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    vocab = SHAPES[args.shape]["vocab_size"]
    n_tokens = (args.steps + args.warmup + 2) * args.batch_tokens
    docs = documents(n_tokens, vocab, args.mean_doc, seed=0)
    if args.one == "ours":
        out = run_ours(args, docs, device)
    else:
        out = run_trl(args, docs, device, packing=args.one == "trl-packing")
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b")
    ap.add_argument("--method", choices=["lora", "full"], default="lora")
    ap.add_argument("--runners", default="ours,trl")
    ap.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    ap.add_argument("--warmup", type=int, default=4, help="untimed steps first (compile)")
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--batch-tokens", type=int, default=65536, help="ours: tokens per step")
    ap.add_argument("--micro-rows", type=int, default=4, help="ours: rows per forward")
    ap.add_argument("--checkpointing", action="store_true", help="ours: activation ckpt")
    ap.add_argument("--mean-doc", type=float, default=1500.0)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        return one(args)
    results = {}
    for runner in args.runners.split(","):
        cmd = [sys.executable, __file__, *sys.argv[1:], "--one", runner]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        wall = time.perf_counter() - t0
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if done.returncode or line is None:
            print(f"{runner}: failed (exit {done.returncode})\n{done.stderr[-3000:]}")
            continue
        results[runner] = {**json.loads(line[7:]), "process_s": round(wall, 1)}
    title = f"{args.shape} {args.method} seq {args.seq_len}"
    print(f"\n{title}: useful tokens/s over {args.steps} steps after {args.warmup} warm-up")
    ref = results.get("ours", {}).get("tokens_per_s")
    for runner, r in results.items():
        mfu = f"{r['mfu']:.1%}" if r.get("mfu") else "-"
        mem = f"{r['peak_mem_gib']:.1f}" if r.get("peak_mem_gib") else "-"
        ratio = f"{ref / r['tokens_per_s']:.2f}x" if ref and runner != "ours" else ""
        print(
            f"  {runner:12s} {r['tokens_per_s']:>10,.0f} tok/s  MFU {mfu:>6s}  "
            f"peak {mem:>6s} GiB  process {r['process_s']:>6.1f} s  ours/peer {ratio}"
        )
    print("JSON " + json.dumps({"config": vars(args), "results": results}))


if __name__ == "__main__":
    main()
