"""Sampling throughput of the evals' local path: `training.evals.sampling.sample` with the `hf`
backend (the Runner, the request cache, batched `model.generate`), as the agentic-misalignment
eval calls it, at several `llm.hf_batch_size` values; batch size 1 is the one-reply-at-a-time
loop, the peer, in the same run on the same requests.

The prompts are the eval's own (every scenario x goal x threat, `--samples` replies each, at
temperature 0.7); the model is random-initialized at a real shape (weights do not change the
speed, and a random model never stops early, so every reply runs to `--max-tokens`) with the
tokenizer and chat template of `--tokenizer` (its vocabulary sets the model's, so the logits
cost what they do for that tokenizer). Each run starts from an empty cache. Prints samples/s and
output tokens/s per batch size, and the ratio to batch size 1.

    python bench/sampling_throughput.py --tokenizer models/base --shape qwen2.5-1.5b \\
        --samples 8 --max-tokens 256 --batch-sizes 1,32,144 --naive-limit 16
    python bench/sampling_throughput.py --tokenizer models/base --shape smollm2-135m \\
        --samples 1 --max-tokens 16 --batch-sizes 1,8 --naive-limit 4      # CPU smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import torch
from shapes import SHAPES, build_model
from transformers import AutoTokenizer

from llm.cache import RequestCache
from llm.request import Sampling, user
from pipeline.config.run import load_run_config
from training.evals.agentic_misalignment.prompts import (
    load_prompts,
    load_tools,
    system_prompt,
    user_prompt,
)
from training.evals.agentic_misalignment.scenarios import known_scenarios, load_scenario
from training.evals.sampling import Chat, sample

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")


def model_folder(shape: str, tokenizer: Path, out: Path, dtype: torch.dtype) -> Path:
    tok = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
    model = build_model(
        shape, dtype, "cpu",
        vocab_size=len(tok), eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id,
    )  # fmt: skip
    model.save_pretrained(out)
    for name in TOKENIZER_FILES:
        if (tokenizer / name).is_file():
            shutil.copy(tokenizer / name, out / name)
    return out


def eval_chats() -> list[Chat]:
    tools, prompts = load_tools(), load_prompts()
    arguments = {t.name: tuple(t.arguments) for t in tools.tools}
    chats = []
    for name in known_scenarios():
        s = load_scenario(name, arguments)
        for goal in ("explicit", "conflicting", "none"):
            for threat in ("replace", "none"):
                chats.append(
                    Chat(
                        user(user_prompt(prompts, s, goal, threat)),
                        system=system_prompt(prompts, tools, s, goal),
                    )
                )
    return chats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", type=Path, required=True, help="a model folder's tokenizer")
    ap.add_argument("--shape", choices=SHAPES, default="qwen2.5-1.5b")
    ap.add_argument("--samples", type=int, default=8, help="replies per scenario x condition")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--batch-sizes", default="1,32,144", help="llm.hf_batch_size values")
    ap.add_argument("--naive-limit", type=int, default=16, help="requests for batch size 1")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--dtype",
        default="bfloat16",
        help="of the saved weights (the hf backend loads bfloat16 on a GPU, float32 on the CPU)",
    )
    args = ap.parse_args()
    chats = eval_chats()
    sampling = Sampling(0.7, args.max_tokens, 0)
    run_config = load_run_config(Path("run.yaml"))
    device = (
        args.device if args.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    )
    print(f"{args.shape} on {device} ({args.dtype}); {len(chats)} chats x {args.samples} samples, "
          f"{args.max_tokens} tokens each; torch {torch.__version__}")  # fmt: skip
    if device.startswith("cuda"):
        print(torch.cuda.get_device_name())
    with tempfile.TemporaryDirectory() as tmp:
        folder = model_folder(
            args.shape, args.tokenizer, Path(tmp) / "model", getattr(torch, args.dtype)
        )
        start = time.perf_counter()
        sample("hf", str(folder), chats[:1], Sampling(0.7, 1, 0), 1, "bench/warm",
               Path(tmp) / "cache-warm", run_config)  # fmt: skip
        print(f"start-up (model load and one token), included in every row: "
              f"{time.perf_counter() - start:.2f} s")  # fmt: skip
        rates = {}
        for b in [int(x) for x in args.batch_sizes.split(",")]:
            settings = dataclasses.replace(run_config.llm, hf_batch_size=b, hf_device=device)
            rc = dataclasses.replace(run_config, llm=settings)
            chosen, samples = chats, args.samples
            if b == 1:  # the one-at-a-time peer: a prefix of the same requests
                chosen, samples = chats[: max(1, args.naive_limit)], 1
            cache = Path(tmp) / f"cache-{b}"
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
            sample("hf", str(folder), chosen, sampling, samples, "bench/sample", cache, rc)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            took = time.perf_counter() - start
            with RequestCache(cache, durable=False) as c:
                answers = c.responses()
            tokens = sum(r.output_tokens for r in answers)
            rates[b] = len(answers) / took
            print(f"batch {b:>4}: {len(answers):>5} samples in {took:8.2f} s = "
                  f"{rates[b]:8.2f} samples/s, {tokens / took:10.1f} output tokens/s")  # fmt: skip
        if 1 in rates:
            for b, r in rates.items():
                if b != 1:
                    print(f"batch {b} / batch 1: {r / rates[1]:.1f}x samples/s")


if __name__ == "__main__":
    main()
