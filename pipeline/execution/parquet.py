"""Documents files in shards and streams: what a task reads, and how a stage writes its outputs.

- `check_documents(path)`: the file is readable and carries the record columns (a `RecordError`
  otherwise, as `pipeline.record.read_documents` gives), without loading it;
- `rows_of(rows, rank, world_size)`: the contiguous row range of one task;
- `read_rows(path, start, stop, columns)`: those rows, one row group at a time, cast to the
  record schema;
- `take_column(path, rows, column)`: one column's values at scattered rows;
- `write_partition(src, reasons, kept, rejects)`: a stage's final outputs, streamed;
- `DocumentWriter`: appends tables and writes exactly the bytes that `write_documents` writes
  for the whole table in one chunk (same options, same 4096-row groups), holding one row group
  at most; so a file's bytes depend on its rows only, never on how they were read or split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.arrays import distinct
from pipeline.execution.arrow import bool_array, empty_table, int64_array, string_array
from pipeline.record import REJECT_SCHEMA, SCHEMA, cast_to, check_columns, unreadable

ROW_GROUP = 4096
"""Rows per Parquet row group, as `pipeline.record.write_documents` writes them."""


def check_documents(path: Path, schema: pa.Schema = SCHEMA) -> int:
    """Number of rows; a RecordError naming the file and the fix if it is not a documents file."""
    try:
        meta = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise unreadable(path, err) from None
    check_columns(path, meta.schema_arrow.names, schema)
    have = pa.schema([meta.schema_arrow.field(n) for n in schema.names])
    if not have.equals(schema, check_metadata=False):
        for batch in meta.iter_batches(columns=schema.names):  # castable, value by value?
            cast_to(pa.Table.from_batches([batch]), schema, path)
    return meta.metadata.num_rows


def rows_of(rows: int, rank: int, world_size: int) -> tuple[int, int]:
    """Task `rank`'s rows [start, stop): contiguous, balanced, in file order."""
    return rows * rank // world_size, rows * (rank + 1) // world_size


def read_rows(
    path: Path, start: int, stop: int, columns: Sequence[str], schema: pa.Schema = SCHEMA
) -> Iterator[pa.Table]:
    """Rows [start, stop) of a documents file, one row group at a time (sliced at the ends)."""
    f = pq.ParquetFile(path)
    fields = pa.schema([schema.field(c) for c in columns])
    lo = 0
    for g in range(f.metadata.num_row_groups):
        hi = lo + f.metadata.row_group(g).num_rows
        if hi > start and lo < stop:
            table = f.read_row_group(g, columns=list(columns))
            table = table.slice(max(0, start - lo), min(hi, stop) - max(lo, start))
            yield cast_to(table, fields, path)
        lo = hi
        if lo >= stop:
            break


def read_column(path: Path, column: str, schema: pa.Schema = SCHEMA) -> pa.ChunkedArray:
    """One column of the whole file (ids: small next to the texts). Read through `ParquetFile`:
    `pq.read_table` goes through `pyarrow.dataset`, whose import pulls in pandas (0.16 s)."""
    table = pq.ParquetFile(path).read(columns=[column])
    return table.column(column).cast(schema.field(column).type)


class DocumentWriter:
    """Stream tables into a Parquet file: the bytes of `write_documents` on all rows, one chunk."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.pending: list[pa.Table] = []
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        while self.rows >= ROW_GROUP:
            self._flush(ROW_GROUP)

    def close(self) -> None:
        if self.rows or self.writer is None:
            self._flush(self.rows)
        if self.writer is not None:
            self.writer.close()

    def _flush(self, rows: int) -> None:
        table = pa.concat_tables(self.pending) if self.pending else empty_table(self.schema)
        head, rest = table.slice(0, rows), table.slice(rows)
        self.pending, self.rows = [rest], rest.num_rows
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.path,
                self.schema,
                compression="zstd",
                write_statistics=False,
                store_schema=True,
            )
        self.writer.write_table(head.combine_chunks(), row_group_size=ROW_GROUP)

    def __enter__(self) -> DocumentWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def take_column(path: Path, rows: np.ndarray, column: str) -> dict[int, str]:
    """The values of one column at the given rows, reading only the row groups that hold them."""
    f = pq.ParquetFile(path)
    rows = distinct(rows)
    out: dict[int, str] = {}
    lo = 0
    for g in range(f.metadata.num_row_groups):
        hi = lo + f.metadata.row_group(g).num_rows
        inside = rows[(rows >= lo) & (rows < hi)]
        if len(inside):
            col = f.read_row_group(g, columns=[column]).column(column)
            values = col.take(int64_array(inside - lo)).to_pylist()
            out.update(zip(inside.tolist(), values, strict=True))
        lo = hi
    return out


def write_partition(
    src: Path, reasons: Sequence[str | None], kept: Path, rejects: Path, rows: int
) -> None:
    """Stream `src` into kept rows (reason None) and rejected rows with their reason column."""
    with DocumentWriter(kept, SCHEMA) as keep, DocumentWriter(rejects, REJECT_SCHEMA) as drop:
        lo = 0
        for table in read_rows(src, 0, rows, SCHEMA.names):
            mine = reasons[lo : lo + table.num_rows]
            lo += table.num_rows
            keep.write(table.filter(bool_array(np.array([r is None for r in mine], bool))))
            dropped = [k for k, r in enumerate(mine) if r is not None]
            rejected = table.take(int64_array(np.array(dropped, np.int64))).append_column(
                "reason", string_array([mine[k] for k in dropped])
            )
            drop.write(rejected.cast(REJECT_SCHEMA))
