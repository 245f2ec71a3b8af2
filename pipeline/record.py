"""The document record: the one row type that flows through generate, dedup and quality.

Flat Parquet columns (DESIGN.md, "The document record"). A row's `id` is derived from the spec,
section id and position in the plan, never from row order, so that rows of unchanged sections
stay byte-identical across rebuilds. The spec's whole-content hash lives in the stage manifest,
not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import InputError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("spec", pa.string(), nullable=False),
        pa.field("section_id", pa.string(), nullable=False),
        pa.field("section_hash", pa.string(), nullable=False),
        pa.field("assertion_ids", pa.list_(pa.string()), nullable=False),
        pa.field("doc_type", pa.string(), nullable=False),
        pa.field("idea", pa.string(), nullable=False),
        pa.field("backend", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("template_hash", pa.string(), nullable=False),
        pa.field("request_hash", pa.string(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
        pa.field("input_tokens", pa.int64(), nullable=False),
        pa.field("output_tokens", pa.int64(), nullable=False),
    ]
)
COLUMNS = tuple(SCHEMA.names)
# The files of a corpus stage's output folder (generate, dedup, quality): the rows it passes on,
# and the rows it dropped.
DOCUMENTS = "documents.parquet"
REJECTS = "rejects.parquet"

# Rejected rows keep every column plus why they were dropped.
REJECT_SCHEMA = SCHEMA.append(pa.field("reason", pa.string(), nullable=False))


class RecordError(InputError):
    """A documents file that does not follow the record schema."""


def to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema = SCHEMA) -> pa.Table:
    rows = list(rows)
    return pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()


def write_documents(table: pa.Table, path: Path) -> None:
    """Write a table of records deterministically (no timestamps, fixed row groups)."""
    pq.write_table(
        table,
        path,
        compression="zstd",
        write_statistics=False,
        store_schema=True,
        row_group_size=4096,
    )


def read_documents(path: Path, schema: pa.Schema = SCHEMA) -> pa.Table:
    """Read a documents file, checking that it carries exactly the record columns."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise unreadable(path, err) from None
    check_columns(path, table.column_names, schema)
    return cast_to(table, schema, path)


def unreadable(path: Path, err: Exception) -> RecordError:
    return RecordError(
        f"{path}: not a readable Parquet file ({err}); delete it and rerun the stage "
        "that writes it (`dvc repro`)"
    )


def check_columns(path: Path, names: list[str], schema: pa.Schema = SCHEMA) -> None:
    missing = [n for n in schema.names if n not in names]
    if missing:
        raise RecordError(
            f"{path}: missing columns {missing}; it was not written by this version of the "
            "pipeline, rerun the stage that writes it"
        )


def cast_to(table: pa.Table, schema: pa.Schema, path: Path) -> pa.Table:
    """The table's record columns in schema order and types; a RecordError if they do not fit."""
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
        raise RecordError(
            f"{path}: columns do not fit the record schema ({err}); rerun the stage that writes it"
        ) from None


def partition(table: pa.Table, reasons: Mapping[int, str]) -> tuple[pa.Table, pa.Table]:
    """Split rows into (kept, rejected); rejected rows carry their drop reason."""
    keep = pa.array([i not in reasons for i in range(table.num_rows)], pa.bool_())
    dropped = sorted(reasons)
    rejects = table.take(pa.array(dropped, pa.int64())).append_column(
        "reason", pa.array([reasons[i] for i in dropped], pa.string())
    )
    return table.filter(keep), rejects.cast(REJECT_SCHEMA)
