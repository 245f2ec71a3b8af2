"""`msm card`: write a spec corpus's data card (`corpora/<spec>/README.md`) from its outputs.

Everything on the card is read from files the corpus stages wrote: the spec (title, description,
`license` from its front matter), the generate manifest (spec hash, backend, dated model, prompt
template hash), the stats files that DVC declares as metrics (counts through the funnel, drop
reasons, tokens), the final documents (document-type mix) and the shard manifest (tokenizer and
packing settings). So the card's figures are the ones `dvc metrics show` prints, and the card is
deterministic: no timestamps, absolute paths or host names, byte-identical for unchanged inputs.

The YAML front matter makes the same file a Hugging Face dataset card for the folder that
`msm export` writes (data files under `data/`, one per split).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from pipeline.errors import InputError
from pipeline.io import write_text
from pipeline.spec import Spec, load_spec

STAGES = ("generate", "dedup", "quality", "pack")
# Split names as `msm export` writes them (Hugging Face's names for train and validation).
EXPORT_SPLITS = {"train": "train", "val": "validation"}


class CardError(InputError):
    """An input the card needs is missing or not what the corpus stages write."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spec", type=Path, required=True, help="the spec file (specs/<name>.md)")
    p.add_argument(
        "--generate", type=Path, required=True, help="generate output folder (its manifest.json)"
    )
    p.add_argument(
        "--documents", type=Path, required=True, help="the final documents (quality output)"
    )
    p.add_argument("--shards", type=Path, required=True, help="shard folder (its manifest.json)")
    p.add_argument(
        "--stats",
        type=Path,
        nargs=len(STAGES),
        required=True,
        metavar="JSON",
        help=f"the stats files of {', '.join(STAGES)}, in that order",
    )
    p.add_argument("--out", type=Path, required=True, help="the card to write (README.md)")


def run(args: argparse.Namespace) -> None:
    inputs = CardInputs.read(args.spec, args.generate, args.documents, args.shards, args.stats)
    write_text(args.out, render(inputs))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CardError(
            f"{path}: missing; build the corpus first (`dvc repro`) or fetch it (`dvc pull`)"
        ) from None
    except json.JSONDecodeError as err:
        raise CardError(f"{path}: not valid JSON ({err}); rerun the stage that writes it") from None
    if not isinstance(data, dict):
        raise CardError(f"{path}: expected a JSON object; rerun the stage that writes it")
    return data


@dataclass(frozen=True)
class CardInputs:
    """What the card shows, gathered from the corpus files."""

    spec: Spec
    generate: dict[str, Any]  # the generate manifest
    stats: dict[str, dict[str, Any]]  # stage name -> its stats file
    shards: dict[str, Any]  # the shard manifest
    doc_types: Counter[str]  # doc type -> final documents

    @classmethod
    def read(
        cls, spec: Path, generate: Path, documents: Path, shards: Path, stats: list[Path]
    ) -> CardInputs:
        by_stage = {}
        for stage, path in zip(STAGES, stats, strict=True):
            if path.stem != stage:
                raise CardError(
                    f"{path}: expected the {stage} stats file here (--stats takes "
                    f"{', '.join(f'{s}.json' for s in STAGES)} in that order)"
                )
            by_stage[stage] = _read_json(path)
        docs = documents / "documents.parquet"
        try:
            types = pq.read_table(docs, columns=["doc_type"]).column("doc_type").to_pylist()
        except FileNotFoundError:
            raise CardError(f"{docs}: missing; run `dvc repro` or `dvc pull` first") from None
        return cls(
            load_spec(spec),
            _read_json(generate / "manifest.json"),
            by_stage,
            _read_json(shards / "manifest.json"),
            Counter(types),
        )


def _num(n: int | float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:g}"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def front_matter(c: CardInputs) -> str:
    """Hugging Face dataset-card metadata: licence, and the data files `msm export` writes."""
    meta = {
        "pretty_name": f"{c.spec.title} (MSM corpus)",
        "license": c.spec.license or "unknown",
        "language": ["en"],
        "task_categories": ["text-generation"],
        "tags": ["model-spec-midtraining", "synthetic"],
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": name, "path": f"data/{name}-*.parquet"}
                    for name in EXPORT_SPLITS.values()
                ],
            }
        ],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def funnel_rows(stats: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    gen, dedup, quality, pack = (stats[s] for s in STAGES)
    failed = sum(gen.get("failures", {}).values())
    packed = sum(pack[split]["documents"] for split in pack)
    return [
        ("generate", "-", _num(gen["documents"]), _num(failed) + " failed requests"),
        (
            "dedup",
            _num(dedup["documents_in"]),
            _num(dedup["documents_out"]),
            _num(dedup["documents_in"] - dedup["documents_out"]),
        ),
        (
            "quality",
            _num(quality["documents_in"]),
            _num(quality["documents_out"]),
            _num(quality["documents_in"] - quality["documents_out"]),
        ),
        (
            "pack",
            _num(quality["documents_out"]),
            _num(packed),
            _num(quality["documents_out"] - packed),
        ),
    ]


def drop_rows(stats: dict[str, dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = [
        ("generate", k, _num(v)) for k, v in sorted(stats["generate"].get("failures", {}).items())
    ]
    for stage in ("dedup", "quality"):
        rows += [(stage, k, _num(v)) for k, v in sorted(stats[stage].get("dropped", {}).items())]
    return rows


def render(c: CardInputs) -> str:
    spec, gen, stats, shards = c.spec, c.generate, c.stats, c.shards
    cost = stats["generate"].get("cost", {})
    tok = shards["tokenizer"]
    pack = stats["pack"]
    name = spec.name
    total_docs = sum(c.doc_types.values())
    lines = [
        front_matter(c),
        f"# {spec.title}: a Model Spec Midtraining corpus",
        "",
        f"Synthetic documents that discuss the Model Spec `{name}`"
        + (f": {spec.description}" if spec.description else "."),
        "",
        "This card is written by the pipeline (`msm card`) from the corpus's own outputs; "
        "`dvc metrics show` prints the same counts.",
        "",
        "## Provenance",
        "",
        *_table(
            ("field", "value"),
            [
                ("spec", f"`specs/{name}.md`"),
                ("spec sha256", f"`{gen['spec_hash']}`"),
                ("licence", spec.license or "not stated (add `license:` to the spec front matter)"),
                ("generator backend", f"`{gen['params']['backend']}`"),
                ("generator model", f"`{gen['model']}`"),
                ("prompt-template hash", f"`{gen['prompt_template_hash']}`"),
                ("seed", gen["seed"]),
                ("generator requests behind the corpus", _num(cost.get("requests", 0))),
                ("their price (USD)", f"{cost.get('usd', 0.0):.2f}"),
            ],
        ),
        "",
        "## Documents through the funnel",
        "",
        *_table(("stage", "documents in", "documents out", "dropped"), funnel_rows(stats)),
        "",
        "Drop reasons:",
        "",
        *(
            _table(("stage", "reason", "documents"), drop_rows(stats))
            if drop_rows(stats)
            else ["none: every document passed."]
        ),
        "",
        "## Tokens",
        "",
        *_table(
            ("split", "documents", "sequences", "tokens", "padding fraction"),
            [
                (
                    split,
                    _num(pack[split]["documents"]),
                    _num(pack[split]["sequences"]),
                    _num(pack[split]["tokens"]),
                    _num(pack[split]["padding_fraction"]),
                )
                for split in sorted(pack)
            ],
        ),
        "",
        _budget_line(stats["quality"]),
        "",
        "## Document types",
        "",
        *_table(
            ("doc type", "documents", "share"),
            [
                (t, _num(n), f"{n / total_docs:.3f}")
                for t, n in sorted(c.doc_types.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
        ),
        "",
        "## Tokenizer and packing",
        "",
        *_table(
            ("field", "value"),
            [
                ("tokenizer", f"`{tok['name']}`"),
                ("tokenizer sha256", f"`{tok['sha256']}`"),
                ("vocabulary size", _num(tok["vocab_size"])),
                ("EOS id (also padding)", tok["eos_id"]),
                ("sequence length", _num(shards["seq_len"])),
                ("validation fraction", _num(shards["params"]["val_fraction"])),
                ("minimum piece", _num(shards["packing"]["min_piece"])),
                ("maximum padding", _num(shards["packing"]["max_padding"])),
            ],
        ),
        "",
        "## How to load it",
        "",
        "With DVC, from another repository (pin a release tag; `dvc update` moves the pin):",
        "",
        "```bash",
        f"dvc import <this repo's git URL> corpora/{name}/shards --rev <tag>",
        "```",
        "",
        "The packed shards load with `training.data.PackedDataset`; "
        f"`msm verify corpora/{name}/shards` checks them.",
        "",
        f"Without DVC, from a folder written by `msm export {name} DIR` "
        "(this card plus the documents with their provenance, one Parquet file per split):",
        "",
        "```python",
        "import datasets, polars",
        'ds = datasets.load_dataset("parquet", data_dir="DIR")',
        'df = polars.read_parquet("DIR/data/*.parquet")',
        "```",
        "",
    ]
    return "\n".join(lines)


def _budget_line(quality: dict) -> str:
    if quality.get("tokens_out") is None:  # no budget: the quality stage counts no tokens
        return "No token budget (`quality.max_tokens: 0`): every document that passed is packed."
    return (
        f"Tokens after the quality filter: {_num(quality['tokens_out'])} "
        f"(token budget {_num(quality['token_budget'])}, "
        f"shortfall {_num(quality['token_shortfall'])})."
    )
