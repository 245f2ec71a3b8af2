"""The whole value-generalization eval of one model, as a user runs it: `msm evaluate` timed as a
process (start-up, imports, reading params, loading the weights from disk, scoring, writing the
metrics), next to a naive one-sequence-at-a-time loop over the same prompts in this process.

The model is `--shape` random-initialized (weights do not change speed), saved with
save_pretrained in `--dtype` together with the tokenizer of `--tokenizer` (a model folder; the
model's vocabulary is the shape's, so the logits cost what they do for the real model) and a
manifest, as `msm base-model` writes a base folder. `msm evaluate` then runs with
`evaluate.evals: [value_generalization]`, `models: [base]`, logprob mode, every item of the
shipped sets (or `--max-items` per set), `--batch-size` prompts per forward pass, on run.yaml
`evaluate.device: --device`, with a fresh eval cache (so it scores). Prints the process's wall
seconds and option sequences/s, the naive loop's sequences/s and what the whole eval would take
that way, and the ratio.

    python bench/value_generalization_eval.py --tokenizer models/base --shape qwen2.5-1.5b  # GPU
    python bench/value_generalization_eval.py --tokenizer models/base --tiny --device cpu \\
        --dtype float32 --max-items 2 --naive-limit 8                               # CPU smoke
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from shapes import SHAPES, build_model, timed
from transformers import AutoTokenizer
from value_generalization_throughput import naive

from pipeline.io import MANIFEST, file_checksums, write_json
from training.evals.value_generalization.items import load_set, resolve, select
from training.evals.value_generalization.prompts import ORDERS, load_prompts, render

ROOT = Path(__file__).resolve().parents[1]
SETS = ("affordability", "america")


def save_base(args: argparse.Namespace, tokenizer, folder: Path):
    """The random model, saved as a base model folder; returned for the naive loop."""
    shape = "tiny" if args.tiny else args.shape
    vocab = max(SHAPES[shape]["vocab_size"], len(tokenizer))
    model = build_model(shape, getattr(torch, args.dtype), args.device, vocab_size=vocab).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    write_json(folder / MANIFEST, {"source": f"random {shape}", "files": file_checksums(folder)})
    return model


def save_and_time_naive(args: argparse.Namespace, tokenizer, folder: Path, subset) -> float:
    """Save the base folder; the naive loop's seconds over `subset` on the same model."""
    model = save_base(args, tokenizer, folder)
    naive(model, tokenizer, subset[:8], args.device)  # warm-up
    return timed(lambda: naive(model, tokenizer, subset, args.device))[1]


def write_settings(args: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    """params.yaml (the repository's, with the eval of one model in logprob mode) and run.yaml."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["model"]["dtype"] = args.dtype
    ev = params["evaluate"]
    ev.update(evals=["value_generalization"], models=["base"], batch_size=args.batch_size)
    ev["value_generalization"].update(mode="logprob", sets=list(SETS), max_items=args.max_items)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (work / "run.yaml").write_text(yaml.safe_dump({"evaluate": {"device": args.device}}))
    return work / "params.yaml", work / "run.yaml"


def run_evaluate(args: argparse.Namespace, work: Path, base: Path) -> tuple[dict, float]:
    params, run_config = write_settings(args, work)
    spec = yaml.safe_load(params.read_text())["spec"]
    cmd = [sys.executable, "-m", "pipeline.cli", "evaluate", "--params", str(params)]
    cmd += ["--run-config", str(run_config), "--base", str(base), "--msm", str(base)]
    cmd += ["--aft", str(base), "--spec", str(ROOT / "specs" / f"{spec}.md")]
    cmd += ["--shards", str(work / "no-shards"), "--cache", str(work / "cache")]
    cmd += ["--out-dir", str(work / "metrics")]
    env = {**os.environ, "MSM_WORK_DIR": str(work / "work"), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    seconds = time.perf_counter() - start
    return json.loads((work / "metrics" / "value_generalization.json").read_text()), seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tokenizer", required=True, help="a model folder with the tokenizer")
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b")
    ap.add_argument("--tiny", action="store_true", help="the tiny shape (a smoke run)")
    ap.add_argument("--max-items", type=int, default=0, help="items per set (0: all)")
    ap.add_argument("--batch-size", type=int, default=64, help="prompts per forward pass")
    ap.add_argument("--naive-limit", type=int, default=400, help="sequences the naive loop times")
    ap.add_argument("--device", default="cuda", help="run.yaml evaluate.device: cuda, cpu, ...")
    ap.add_argument("--dtype", default="bfloat16", help="params.yaml model.dtype")
    args = ap.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    prompts, _ = load_prompts()
    items = [it for s in SETS for it in select(resolve(s, load_set(s)), args.max_items)]
    pairs = [
        (render(prompts.choice, it, order), option)
        for it in items
        for order in ORDERS
        for option in (it.aligned, it.other)
    ]
    with tempfile.TemporaryDirectory(prefix="vg-eval-") as tmp:
        work = Path(tmp)
        subset = pairs[: args.naive_limit]
        t_naive = save_and_time_naive(args, tokenizer, work / "base", subset)
        if args.device.startswith("cuda"):
            torch.cuda.empty_cache()  # the process below loads its own copy from disk
        metrics, t_eval = run_evaluate(args, work, work / "base")
    scored = sum(metrics["sets"][s]["items"] for s in SETS)
    if scored != len(items):
        raise SystemExit(f"msm evaluate scored {scored} items, expected {len(items)}")
    naive_sps, ours_sps = len(subset) / t_naive, len(pairs) / t_eval
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    shape = "tiny" if args.tiny else args.shape
    print(f"{shape} on {name}, {args.dtype}, {len(items)} items, {len(pairs)} option sequences")
    print(
        f"msm evaluate (whole process): {t_eval:7.2f} s  {ours_sps:9.1f} seq/s  "
        f"{len(items) / t_eval:8.1f} items/s"
    )
    print(
        f"naive loop: {len(subset)} sequences in {t_naive:.2f} s, {naive_sps:9.1f} seq/s "
        f"(the whole eval would take {len(pairs) / naive_sps:.1f} s, model loading not counted)"
    )
    print(f"msm evaluate / naive: {ours_sps / naive_sps:.1f}x")


if __name__ == "__main__":
    main()
