"""`msm export SPEC DIR`: a corpus as plain Parquet plus its data card, for readers without DVC.

DIR gets the final documents (the quality stage's output, every provenance column of the
document record) split as the shards split them, and the data card:

    DIR/README.md                                  the card (`corpora/<spec>/README.md`)
    DIR/data/train-00000-of-00001.parquet          documents packed into the train shards
    DIR/data/validation-00000-of-00001.parquet     documents packed into the val shards

`datasets.load_dataset("parquet", data_dir=DIR)` and `polars.read_parquet("DIR/data/*.parquet")`
read it as it is, and `huggingface-cli upload <user>/<name> DIR --repo-type dataset` publishes it
(the card's front matter names the splits and the licence). Rows are sorted by id and the files
are written deterministically, so an unchanged corpus exports byte-identical files.

The folder is written next to DIR and renamed into place when complete. An existing DIR is
replaced only with `--force`, and only when it holds nothing but an earlier export.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.card import EXPORT_SPLITS
from pipeline.errors import InputError
from pipeline.io import atomic_dir
from pipeline.record import read_documents, write_documents

CARD = "README.md"
DATA = "data"


class ExportError(InputError):
    """A corpus that cannot be exported as it is, or a destination that must not be replaced."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="spec name (a folder under --corpora)")
    p.add_argument("dir", type=Path, help="folder to write (must not exist, or see --force)")
    p.add_argument(
        "--corpora", type=Path, default=Path("corpora"), help="folder of the spec corpora"
    )
    p.add_argument("--force", action="store_true", help="replace DIR if it holds an earlier export")


def run(args: argparse.Namespace) -> None:
    counts = export(args.corpora / args.spec, args.dir, force=args.force)
    summary = ", ".join(f"{n} {split}" for split, n in counts.items())
    print(f"{args.dir}: {summary} documents and {CARD}")


def export(corpus: Path, dest: Path, force: bool = False) -> dict[str, int]:
    """Write the export folder for one corpus; return documents per split."""
    card = corpus / CARD
    documents = corpus / "quality" / "documents.parquet"
    shards = corpus / "shards"
    for need in (card, documents, shards / "manifest.json"):
        if not need.is_file():
            raise ExportError(
                f"{need}: missing; build the corpus (`dvc repro card@{corpus.name}`) "
                f"or fetch it (`dvc pull card@{corpus.name}`) first"
            )
    _check_destination(dest, force)
    table = read_documents(documents)
    split_of = _splits(shards, table, documents)
    counts = {}
    with atomic_dir(dest) as tmp:
        (tmp / DATA).mkdir()
        for split, name in EXPORT_SPLITS.items():
            ids = pa.array(sorted(i for i, s in split_of.items() if s == split), pa.string())
            rows = table.filter(pc.is_in(table["id"], value_set=ids)).sort_by("id")
            write_documents(rows, tmp / DATA / f"{name}-00000-of-00001.parquet")
            counts[name] = rows.num_rows
        shutil.copyfile(card, tmp / CARD)
    return counts


def _splits(shards: Path, table: pa.Table, documents: Path) -> dict[str, str]:
    """Document id -> shard split, checked against the documents (stale shards are an error)."""
    split_of: dict[str, str] = {}
    for split in EXPORT_SPLITS:
        path = shards / f"{split}_docs.json"
        try:
            ids = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ExportError(f"{path}: unreadable ({err}); `msm verify {shards}`") from None
        split_of.update(dict.fromkeys(ids, split))
    docs = set(table["id"].to_pylist())
    if docs != set(split_of):
        raise ExportError(
            f"{shards} and {documents} disagree ({len(docs - set(split_of))} documents not in "
            f"the shards, {len(set(split_of) - docs)} shard documents not in the file); "
            "rebuild with `dvc repro` or fetch both with `dvc pull`"
        )
    return split_of


def _check_destination(dest: Path, force: bool) -> None:
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        return
    if not dest.is_dir():
        raise ExportError(f"{dest}: exists and is not a folder; choose another destination")
    if not force:
        raise ExportError(f"{dest}: exists and is not empty; pass --force to replace an export")
    names = {p.name for p in dest.iterdir()}
    data = dest / DATA
    earlier = (
        names <= {CARD, DATA}
        and data.is_dir()
        and all(p.suffix == ".parquet" for p in data.iterdir())
    )
    if not earlier:
        raise ExportError(
            f"{dest}: holds files that an export does not write ({sorted(names)}); "
            "--force replaces only an earlier export, choose another destination"
        )
