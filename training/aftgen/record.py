"""The AFT record: single-turn chats in trl's conversational prompt/completion shape, with
provenance, written twice (with the reasoning and without it) as Parquet.

Columns: `id`, `rank` (position in the nested-subset order of its origin), `prompt` and
`completion` (lists of {role, content}), `origin` (`aft` or `instruct`), `source` (the set, spec
or chat file it came from), `spec`, `section_id`, `kind`, `domain`, `backend`, `model`,
`request_hash` (the response request's key; empty for fixed-set and mix rows). Rows of both files
are in the same order and differ only in the assistant turn: `cot.parquet` has
`<think>...</think>` and a blank line before the answer, `no_cot.parquet` the answer alone.
`datasets.load_dataset("parquet", data_files=...)` and trl's SFTTrainer read them as they are.

Ranks: every chat's rank key is the sha256 of the seed and its id; a subset of n is the first n
by that key, so a smaller subset is always inside a larger one of the same generation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TURN = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("rank", pa.int64()),
        ("prompt", TURN),
        ("completion", TURN),
        ("origin", pa.string()),
        ("source", pa.string()),
        ("spec", pa.string()),
        ("section_id", pa.string()),
        ("kind", pa.string()),
        ("domain", pa.string()),
        ("backend", pa.string()),
        ("model", pa.string()),
        ("request_hash", pa.string()),
    ]
)
FILES = {True: "cot.parquet", False: "no_cot.parquet"}


@dataclass(frozen=True)
class Row:
    id: str
    prompt: list[dict[str, str]]
    """The messages before the answer (one user turn for AFT chats)."""
    answer: str
    think: str
    """The reasoning, empty when the chat has none (fixed sets, mix chats)."""
    origin: str
    source: str
    spec: str = ""
    section_id: str = ""
    kind: str = ""
    domain: str = ""
    backend: str = ""
    model: str = ""
    request_hash: str = ""

    def completion(self, cot: bool) -> list[dict[str, str]]:
        if cot and self.think:
            return [
                {
                    "role": "assistant",
                    "content": f"<think>\n{self.think}\n</think>\n\n{self.answer}",
                }
            ]
        return [{"role": "assistant", "content": self.answer}]


def rank_key(seed: int, chat_id: str) -> str:
    return hashlib.sha256(f"{seed}\0{chat_id}".encode()).hexdigest()


def first_by_rank(rows: list[Row], n: int, seed: int) -> list[Row]:
    """The nested subset of `n` rows: the first n by rank key."""
    return sorted(rows, key=lambda r: rank_key(seed, r.id))[:n]


def write(folder: Path, rows: list[Row]) -> None:
    """Both files, rows in the given order; `rank` counts within each origin."""
    seen: dict[str, int] = {}
    ranks = []
    for r in rows:
        ranks.append(seen.get(r.origin, 0))
        seen[r.origin] = ranks[-1] + 1
    for cot, name in FILES.items():
        table = pa.Table.from_pylist(
            [
                {
                    "id": r.id,
                    "rank": rank,
                    "prompt": r.prompt,
                    "completion": r.completion(cot),
                    "origin": r.origin,
                    "source": r.source,
                    "spec": r.spec,
                    "section_id": r.section_id,
                    "kind": r.kind,
                    "domain": r.domain,
                    "backend": r.backend,
                    "model": r.model,
                    "request_hash": r.request_hash,
                }
                for r, rank in zip(rows, ranks, strict=True)
            ],
            schema=SCHEMA,
        )
        pq.write_table(table, folder / name, compression="zstd")
