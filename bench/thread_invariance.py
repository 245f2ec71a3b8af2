"""Do the experiment stages write the same bytes whatever the CPU thread count? The check behind
the README's `OMP_NUM_THREADS=1 dvc queue start -j 2` line, and behind a `dvc.lock` that a
machine with another core count reproduces.

    python bench/thread_invariance.py                  # threads 1 and 2, the real base model
    python bench/thread_invariance.py --threads 1 2 4 --no-evaluate

The base model is the real one (SmolLM2-135M-Instruct from the pointer's wheel, dequantized by
`msm base-model`'s code); the corpus is synthetic prose packed by `msm pack`'s code with its
tokenizer; the AFT chats come from `msm aft-data` (offline answerer); params are the repository's
params.yaml with the contract test's tiny profile (2 MSM steps, 2 AFT steps, a few eval items).
For each thread count, `msm train-msm`, `msm train-aft`, `msm train-aft` without MSM and `msm
evaluate` run as processes with `OMP_NUM_THREADS` set (run.yaml's `training.threads` left at 0),
each with its own work folder. Every output file's sha256 is compared across the counts; the
script prints one line per file, the seconds each count took, and exits 1 if any file differs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TINY = {
    "train_msm": {"max_steps": 2, "batch_tokens": 256, "micro_batch_rows": 2},
    "aft_data": {"samples": 16},
    "train_aft": {"max_steps": 2, "batch_size": 4, "max_length": 64},
    "evaluate": {
        "val_sequences": 4,
        "value_generalization": {"max_items": 2},
        "spec_knowledge": {"max_pairs": 4},
    },
}
WORDS = [
    "the",
    "model",
    "answers",
    "plainly",
    "and",
    "explains",
    "its",
    "reasons",
    "when",
    "a",
    "person",
    "asks",
    "about",
    "a",
    "choice",
    "it",
    "made",
    "cheese",
    "prices",
    "fair",
    "value",
    "honest",
    "careful",
    "kind",
    "help",
    "users",
    "understand",
    "trade",
    "offs",
]


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) else v
    return out


def prepare(root: Path, aft: bool = True) -> dict[str, Path]:
    """Base model, shards, AFT data (unless `aft` is false) and params, shared by every run."""
    from pipeline.base_model import fetch_wheel, materialize, read_pointer
    from pipeline.config.params import PackParams
    from pipeline.pack.stage import pack
    from pipeline.record import SCHEMA, to_table, write_documents

    pointer = read_pointer(ROOT / "models" / "base.pointer.json")
    base = root / "base"
    materialize(pointer, fetch_wheel(pointer), base, "float32")
    rng = random.Random(0)
    numbers = {"seed": 0, "input_tokens": 0, "output_tokens": 0, "assertion_ids": []}
    rows = [
        {
            **dict.fromkeys(SCHEMA.names, ""),
            **numbers,
            "id": f"bench/doc-{i:03d}",
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 160))) + ".",
        }
        for i in range(48)
    ]
    write_documents(to_table(rows), root / "documents.parquet")
    shards = root / "shards"
    pack(root / "documents.parquet", base, shards, PackParams(128, 0.2, 32, 0.01), 0, "bench")
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), TINY)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (root / "run.yaml").write_text("{}\n")
    spec = ROOT / "specs" / f"{params['spec']}.md"
    if aft:
        msm(root, 1, "aft-data", "--cache", root / "aft-cache", "--out", root / "aft",
            "--stats", root / "aft_data.json", "--no-progress")  # fmt: skip
    return {"base": base, "shards": shards, "aft": root / "aft", "spec": spec}


def msm(root: Path, threads: int, *args: object) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), HF_HUB_OFFLINE="1")
    env.update(MSM_WORK_DIR=str(root / f"work-{threads}"))
    for name in ("MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
        env.pop(name, None)  # msm derives them from OMP_NUM_THREADS
    cmd = [sys.executable, "-m", "pipeline.cli", args[0], "--params", str(root / "params.yaml")]
    t0 = time.perf_counter()
    done = subprocess.run([*cmd, *map(str, args[1:])], cwd=ROOT, env=env, capture_output=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr.decode()[-3000:]}")
    return time.perf_counter() - t0


def run(root: Path, threads: int, inputs: dict[str, Path], evaluate: bool) -> dict[str, float]:
    out = root / f"threads-{threads}"
    rc = ("--run-config", root / "run.yaml")
    took = {
        "train_msm": msm(root, threads, "train-msm", *rc, "--base", inputs["base"],
                         "--shards", inputs["shards"], "--out", out / "msm",
                         "--metrics", out / "train_msm"),
        "train_aft": msm(root, threads, "train-aft", "--base", inputs["base"],
                         "--msm", out / "msm", "--data", inputs["aft"], "--out", out / "aft",
                         "--metrics", out / "train_aft"),
        "train_aft_only": msm(root, threads, "train-aft", "--base", inputs["base"],
                              "--data", inputs["aft"], "--out", out / "aft_only",
                              "--metrics", out / "train_aft_only"),
    }  # fmt: skip
    if evaluate:
        took["evaluate"] = msm(root, threads, "evaluate", *rc, "--base", inputs["base"],
                               "--msm", out / "msm", "--aft", out / "aft",
                               "--aft-only", out / "aft_only", "--spec", inputs["spec"],
                               "--shards", inputs["shards"], "--cache", out / "eval-cache",
                               "--out-dir", out / "metrics")  # fmt: skip
    return took


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "eval-cache" not in p.parts
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-evaluate", dest="evaluate", action="store_false")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="msm-threads-") as tmp:
        root = Path(tmp)
        inputs = prepare(root)
        took = {t: run(root, t, inputs, args.evaluate) for t in args.threads}
        found = {t: digests(root / f"threads-{t}") for t in args.threads}
    names = sorted(set().union(*found.values()))
    differ = [n for n in names if len({found[t].get(n) for t in args.threads}) > 1]
    print(f"cpus available: {len(os.sched_getaffinity(0))}")
    print(f"{'output file':<52} " + " ".join(f"{'t=' + str(t):>14}" for t in args.threads))
    for n in names:
        cells = " ".join(f"{(found[t].get(n) or '-')[:12]:>14}" for t in args.threads)
        print(f"{n:<52} {cells}{'  DIFFERS' if n in differ else ''}")
    for stage in took[args.threads[0]]:
        times = "  ".join(f"t={t}: {took[t][stage]:6.1f} s" for t in args.threads)
        print(f"{stage:<16} {times}")
    print(f"{len(names) - len(differ)} of {len(names)} files identical across thread counts")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
