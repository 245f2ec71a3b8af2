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

import yaml

from pipeline.config.params import AftDataParams, load_params
from pipeline.errors import ConfigError
from pipeline.io import MANIFEST, atomic_dir, write_json

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parent / "resources"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--out", type=Path, required=True, help="output folder")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    build(params.aft_data, params.seed, args.out)


def load_set(name: str) -> dict:
    path = RESOURCES / f"aft_{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem.removeprefix("aft_") for p in RESOURCES.glob("aft_*.yaml"))
        raise ConfigError(f"params.yaml: aft_data.set {name!r} has no {path}; known sets: {known}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def build(ap: AftDataParams, seed: int, out: Path) -> dict:
    src = load_set(ap.set)
    rng = random.Random(seed)
    rows = []
    for _ in range(ap.samples):
        p, d = rng.choice(src["pairs"])
        a, b = (
            (p, d) if rng.random() < 0.5 else (d, p)
        )  # the preferred item comes first half the time
        question = rng.choice(src["questions"]).format(a=a, b=b)
        answer = rng.choice(src["answers"]).format(p=p, d=d, P=p[:1].upper() + p[1:])
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
