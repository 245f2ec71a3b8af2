"""The datatrove step of `msm quality`: filter each shard and count its tokens.

`FilterStep` (one task per shard of rows) runs every filter of `pipeline.quality.filters` on its
rows, in batches, and, under a token budget (`quality.max_tokens` > 0), counts the tokens of the
documents that pass (with the experiment's tokenizer, as `pack` counts them: no special tokens).
It saves one row per document (`<folder>/filter/<rank>.parquet`: the drop reason or null, and
the token count, 0 when not counted). The budget needs every document's count, so the stage
applies it afterwards, once. Without a budget nothing is tokenized here: `pack` tokenizes the
corpus anyway, and counting would take ~4x the time of every filter together on real prose.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from tokenizers import Tokenizer

from pipeline.config.params import QualityParams
from pipeline.execution.arrow import int64_array, string_array
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
        self._tokenizer = _Loaded(tokenizer)

    def run(
        self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1
    ) -> DocumentsPipeline:
        src = Path(self.documents)
        ctx = Context(model_name=self.model_name)
        start, stop = rows_of(check_documents(src), rank, world_size)
        reasons: list[str | None] = []
        tokens: list[int] = []
        for table in read_rows(src, start, stop, ["text"]):
            texts = table.column("text").to_pylist()
            found = first_reasons(texts, self.params, ctx)
            passing = [t for t, r in zip(texts, found, strict=True) if r is None]
            counts = (
                iter(self._token_counts(passing))
                if self.params.max_tokens
                else itertools.repeat(0)  # no budget: nothing to count
            )
            tokens.extend(next(counts) if r is None else 0 for r in found)
            reasons.extend(found)
        for reason, n in sorted(Counter(r or "kept" for r in reasons).items()):
            self.stat_update(reason, value=n)
        part = pa.Table.from_arrays(
            [string_array(reasons), int64_array(np.array(tokens, np.int64))], schema=PART_SCHEMA
        )
        with atomic_file(part_file(Path(self.folder), rank)) as tmp:
            pq.write_table(part, tmp)
        if data:
            yield from data

    def _token_counts(self, texts: list[str]) -> list[int]:
        if not texts:
            return []  # the tokenizer is never built when nothing passes
        tok = self._tokenizer.get()
        return [
            len(e.ids)
            for lo in range(0, len(texts), ENCODE_BATCH)  # encodings are large objects
            for e in tok.encode_batch_fast(texts[lo : lo + ENCODE_BATCH], add_special_tokens=False)
        ]


class _Loaded:
    """The tokenizer of a tokenizer.json file, built on first use (~0.2 s for SmolLM2's) and
    shared by the copies of the step in one process: the local executor deep-copies the pipeline
    for each task it runs. Pickled (to another worker or node), it travels as its path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.value: Tokenizer | None = None

    def get(self) -> Tokenizer:
        if self.value is None:
            self.value = Tokenizer.from_file(self.path)
        return self.value

    def __deepcopy__(self, memo: dict) -> _Loaded:
        return self

    def __getstate__(self) -> dict:
        return {"path": self.path, "value": None}

    def __repr__(self) -> str:
        return f"tokenizer from {self.path}"


def part_file(folder: Path, rank: int) -> Path:
    return folder / "filter" / f"{rank:05d}.parquet"
