"""`msm aft-data`: build the AFT chats from a named set in `training/resources/`.

Never depends on MSM: the same AFT data is used whatever the spec, which is the point of the
experiment. Output: `train.jsonl` of prompt/completion chats, and `stats.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
from pathlib import Path

from pipeline.config.params import AftDataParams, load_params
from pipeline.io import MANIFEST, atomic_dir, write_json
from training.sets import load_aft_set

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--out", type=Path, required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    build(params.aft_data, params.seed, args.out)


def build(ap: AftDataParams, seed: int, out: Path) -> dict:
    src = load_aft_set(ap.set)
    rng = random.Random(seed)
    rows = []
    for _ in range(ap.samples):
        p, d = rng.choice(src.pairs)
        a, b = (
            (p, d) if rng.random() < 0.5 else (d, p)
        )  # the preferred item comes first half the time
        question = rng.choice(src.questions).format(a=a, b=b)
        answer = rng.choice(src.answers).format(p=p, d=d, P=p[:1].upper() + p[1:])
        rows.append(
            {
                "prompt": [{"role": "user", "content": question}],
                "completion": [{"role": "assistant", "content": answer}],
            }
        )
    stats = {
        "set": ap.set,
        "samples": len(rows),
        "distinct_prompts": len({r["prompt"][0]["content"] for r in rows}),
    }
    with atomic_dir(out) as tmp:
        with open(tmp / "train.jsonl", "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        write_json(tmp / MANIFEST, stats)
    log.info("aft_data: %s", stats)
    return stats
