"""The datatrove step of `msm quality`: filter each shard and count its tokens.

`FilterStep` (one task per shard of rows) runs every filter of `pipeline.quality.filters` on its
rows, in batches, and counts the tokens of the documents that pass (with the experiment's
tokenizer, as `pack` counts them: no special tokens). It saves one row per document
(`<folder>/filter/<rank>.parquet`: the drop reason or null, and the token count). The token
budget needs every document's count, so the stage applies it afterwards, once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from tokenizers import Tokenizer

from pipeline.config.params import QualityParams
from pipeline.execution.files import atomic_file
from pipeline.execution.parquet import check_documents, read_rows, rows_of
from pipeline.quality.filters import Context, first_reasons

ENCODE_BATCH = 256
PART_SCHEMA = pa.schema([pa.field("reason", pa.string()), pa.field("tokens", pa.int64())])


class FilterStep(PipelineStep):
    """Drop reasons and token counts of one task's rows."""

    name = "filter"
    type = "msm quality"

    def __init__(
        self, documents: str, folder: str, params: QualityParams, model_name: str, tokenizer: str
    ) -> None:
        super().__init__()
        self.documents, self.folder, self.params = documents, folder, params
        self.model_name = model_name
        self.tokenizer = tokenizer
        """Path of a tokenizer.json file."""

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        src = Path(self.documents)
        tok = Tokenizer.from_file(self.tokenizer)
        ctx = Context(model_name=self.model_name)
        start, stop = rows_of(check_documents(src), rank, world_size)
        reasons: list[str | None] = []
        tokens: list[int] = []
        for table in read_rows(src, start, stop, ["text"]):
            texts = table.column("text").to_pylist()
            found = first_reasons(texts, self.params, ctx)
            passing = [t for t, r in zip(texts, found, strict=True) if r is None]
            counts = iter(
                len(e.ids)
                for lo in range(0, len(passing), ENCODE_BATCH)  # encodings are large objects
                for e in tok.encode_batch_fast(
                    passing[lo : lo + ENCODE_BATCH], add_special_tokens=False
                )
            )
            tokens.extend(next(counts) if r is None else 0 for r in found)
            reasons.extend(found)
        for reason, n in sorted(Counter(r or "kept" for r in reasons).items()):
            self.stat_update(reason, value=n)
        part = pa.table(
            [pa.array(reasons, pa.string()), pa.array(tokens, pa.int64())], schema=PART_SCHEMA
        )
        with atomic_file(part_file(Path(self.folder), rank)) as tmp:
            pq.write_table(part, tmp)
        if data:
            yield from data


def part_file(folder: Path, rank: int) -> Path:
    return folder / "filter" / f"{rank:05d}.parquet"
