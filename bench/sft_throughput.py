"""AFT training (trl SFT) throughput of `train_aft`'s speed measures, side by side, same chats.

    python bench/sft_throughput.py --shape qwen2.5-1.5b --steps 20        # a GPU
    python bench/sft_throughput.py --attention flex_attention           # flex instead of SDPA
    python bench/sft_throughput.py --device cpu --tiny                   # CPU smoke

Each runner is `training.sft.sft_trainer` (what `msm train-aft` runs) with one `run.yaml`
`training:` setting, in a fresh process (its own CUDA memory), on the same chats, batch and
LoRA (r=64 on every projection):
- `padded`: `padding_free: never`, `liger: never`: trl's padded batches, SDPA (the peer: trl's
  own default collation);
- `padding-free`: `padding_free: always`: a batch's chats end to end in one row, positions
  restarting per chat (SDPA; `--attention flex_attention` to compare);
- `padding-free+liger`: the same with `liger: always` (Liger's RMSNorm, RoPE and SwiGLU
  kernels; needs liger-kernel, so it is skipped where that is not installed).
Models are randomly initialized at real shapes (weights do not change speed), bf16 weights with
LoRA on a GPU, fp32 on the CPU. The chats are random words under a plain chat template, a
question of ~40 tokens and an answer with a think block of lognormal length (mean
`--mean-answer` tokens, as the AFT chats), from a word-level tokenizer with the shape's
vocabulary. Reported: useful (non-padding) tokens per second over `--steps` timed optimizer
steps after `--warmup` untimed ones (compile), peak memory (GPU: `max_memory_allocated`; CPU:
the process's peak RSS), and each runner's ratio to `padded`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile

from shapes import SHAPES, build_model, trl_tokens_per_s

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
RUNNERS = {
    "padded": dict(padding_free="never", liger="never"),
    "padding-free": dict(padding_free="always", liger="never"),
    "padding-free+liger": dict(padding_free="always", liger="always"),
}
SPECIAL = ["<pad>", "<eos>", "<|user|>", "<|assistant|>", "<|end|>", "<think>", "</think>"]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def tokenizer(vocab: int):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {w: i for i, w in enumerate(SPECIAL)}
    words.update({f"w{i}": i for i in range(len(SPECIAL), vocab)})
    tok = Tokenizer(models.WordLevel(words, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    out = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")
    out.chat_template = TEMPLATE
    return out


def chats(n: int, vocab: int, mean_answer: float, max_length: int, seed: int) -> list[dict]:
    import numpy as np

    rng = np.random.default_rng(seed)
    sigma = 0.5
    mu = np.log(mean_answer) - sigma**2 / 2

    def words(k: int) -> str:
        return " ".join(f"w{i}" for i in rng.integers(len(SPECIAL), vocab, size=k))

    out = []
    for _ in range(n):
        answer = int(np.clip(rng.lognormal(mu, sigma), 16, max_length - 80))
        think = answer // 3
        out.append(
            {
                "prompt": [{"role": "user", "content": words(int(rng.integers(20, 60)))}],
                "completion": [
                    {
                        "role": "assistant",
                        "content": f"<think> {words(think)} </think> {words(answer - think)}",
                    }
                ],
            }
        )
    return out


def run_one(args, runner: str) -> dict:
    import torch
    from datasets import Dataset

    from pipeline.config.params import LoraParams, load_params
    from pipeline.config.run import TrainingSettings
    from training.aft import chat_lengths
    from training.model import with_new_lora
    from training.sft import sft_speed, sft_trainer

    cuda = torch.cuda.is_available()
    vocab = SHAPES[args.shape]["vocab_size"]
    tok = tokenizer(vocab)
    batches = args.steps + args.warmup
    data = Dataset.from_list(
        chats(batches * args.batch_size, vocab, args.mean_answer, args.max_length, seed=0)
    )
    longest = max(chat_lengths(data, tok))
    tp = dataclasses.replace(
        load_params("params.yaml", None).train_aft,  # run from the repository root
        max_steps=batches,
        batch_size=args.batch_size,
        grad_accum=1,
        max_length=args.max_length,
        lora=LoraParams(r=64, alpha=128, dropout=0.0, target_modules=TARGETS),
    )
    settings = TrainingSettings(**RUNNERS[runner], attention=args.attention)
    speed = sft_speed(settings, cuda, longest, tp.max_length)
    model = build_model(
        args.shape,
        torch.bfloat16 if cuda else torch.float32,
        "cuda" if cuda else "cpu",
        speed.attention,
        use_cache=False,
    )
    model = with_new_lora(model, tp.lora)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = sft_trainer(model, tok, data, tp, 0, tmp, speed)
        tokens_per_s = trl_tokens_per_s(trainer, args.warmup, args.steps, cuda, count=_real_tokens)
    peak = (
        torch.cuda.max_memory_allocated() / 2**30
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    return {
        "tokens_per_s": tokens_per_s,
        "peak_mem_gib": peak,
        "attention": speed.attention,
        "padding_free": speed.padding_free,
        "liger": speed.liger,
        "longest_chat": longest,
    }


def _real_tokens(batch: dict) -> int:
    """A padded batch's attended tokens; a padding-free batch has no mask and no padding."""
    mask = batch.get("attention_mask")
    return int(mask.sum()) if mask is not None else batch["input_ids"].numel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="qwen2.5-1.5b")
    ap.add_argument("--runners", default=",".join(RUNNERS))
    ap.add_argument("--steps", type=int, default=20, help="timed optimizer steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (compile)")
    ap.add_argument("--batch-size", type=int, default=8, help="chats per step")
    ap.add_argument("--max-length", type=int, default=2048, help="train_aft.max_length")
    ap.add_argument("--mean-answer", type=float, default=600.0, help="tokens, think included")
    ap.add_argument("--device", choices=["auto", "cpu"], default="auto")
    ap.add_argument(
        "--attention",
        choices=["auto", "sdpa", "flex_attention"],
        default="auto",
        help="run.yaml training.attention for every runner (auto: sdpa)",
    )
    ap.add_argument(
        "--tiny", action="store_true", help="tiny shape, short chats, 3 steps: a smoke run"
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tiny:
        args.shape, args.steps, args.warmup = "tiny", min(args.steps, 3), 1
        args.batch_size, args.max_length, args.mean_answer = 4, 256, 60.0
    if args.one:
        print("RESULT " + json.dumps(run_one(args, args.one)), flush=True)
        return
    env = dict(os.environ)
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    results: dict[str, dict] = {}
    for runner in args.runners.split(","):
        if runner not in RUNNERS:
            ap.error(f"unknown runner {runner!r}; known: {', '.join(RUNNERS)}")
        cmd = [sys.executable, __file__, *sys.argv[1:], "--one", runner]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if done.returncode or line is None:
            last = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
            print(f"{runner}: not run (exit {done.returncode}): {last[0]}")
            continue
        results[runner] = json.loads(line[7:])
    print(
        f"\n{args.shape} LoRA r=64, batch {args.batch_size} chats, max_length {args.max_length}, "
        f"answers ~{args.mean_answer:.0f} tokens: useful tokens/s over {args.steps} steps after "
        f"{args.warmup} warm-up"
    )
    ref = results.get("padded", {}).get("tokens_per_s")
    mem = "GPU" if args.device != "cpu" and _cuda() else "RSS"
    for runner, r in results.items():
        ratio = f"{r['tokens_per_s'] / ref:.2f}x" if ref else "-"
        print(
            f"  {runner:20s} {r['tokens_per_s']:>10,.0f} tok/s  peak {mem} "
            f"{r['peak_mem_gib']:>6.2f} GiB  attention {r['attention']:14s} /padded {ratio}"
        )
    print("JSON " + json.dumps({"config": vars(args), "results": results}))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
