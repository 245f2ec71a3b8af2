"""The optional instruction-tuning mix: chats read from a local JSONL or Parquet file.

Each row has `messages`, a list of {role, content} with roles system, user or assistant, at
least one user turn and an assistant turn last; the last assistant turn becomes the completion
and everything before it the prompt. Any other row is an error naming the file, the line (JSONL)
or row (Parquet) and the fix, raised before anything is written. `ratio` instruction chats per
AFT chat are taken in rank order (a hash of the seed and the row number), so mixes of smaller
ratios are inside larger ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import InputError
from training.aftgen.record import Row, first_by_rank

ROLES = ("system", "user", "assistant")


def load(path: Path) -> list[Row]:
    rows = _load(path)
    if not rows:
        raise InputError(f"{path}: no chats in the file; add chats or set aft_data.mix.ratio to 0")
    return rows


def _load(path: Path) -> list[Row]:
    if not path.is_file():
        raise InputError(
            f"params.yaml: aft_data.mix.file names {path}, which does not exist; "
            'fix the path or set aft_data.mix.file to "" and ratio to 0'
        )
    if path.suffix == ".jsonl":
        return [_row(path, f"line {n}", raw) for n, raw in _jsonl(path)]
    if path.suffix == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as err:
            raise InputError(f"{path}: not a readable Parquet file ({err}); fix the file") from None
        if "messages" not in table.column_names:
            raise InputError(
                f"{path}: no `messages` column (columns: {', '.join(table.column_names)}); "
                "each row needs `messages`, a list of {role, content}"
            )
        return [
            _row(path, f"row {n}", {"messages": m})
            for n, m in enumerate(table.column("messages").to_pylist())
        ]
    raise InputError(f"{path}: a chat file must end in .jsonl or .parquet; convert it")


def choose(rows: list[Row], ratio: float, aft_chats: int, seed: int, path: Path) -> list[Row]:
    want = round(ratio * aft_chats)
    if want > len(rows):
        raise InputError(
            f"{path}: aft_data.mix.ratio {ratio} asks for {want} chats for {aft_chats} AFT chats, "
            f"but the file has {len(rows)}; lower the ratio or add chats"
        )
    return first_by_rank(rows, want, seed)


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}:{n}: not valid JSON ({err.msg}); fix the line") from None


def _row(path: Path, where: str, raw: object) -> Row:
    fix = (
        'each chat is {"messages": [{"role": "user", "content": ...}, '
        '{"role": "assistant", "content": ...}]}'
    )
    messages = raw.get("messages") if isinstance(raw, dict) else None
    if not isinstance(messages, list) or len(messages) < 2:
        raise InputError(f"{path}, {where}: no `messages` list of two or more turns; {fix}")
    turns = []
    for i, m in enumerate(messages):
        ok = isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        if not ok:
            raise InputError(
                f"{path}, {where}: message {i} is not {{role, content}} with role one of "
                f"{', '.join(ROLES)}; {fix}"
            )
        turns.append({"role": m["role"], "content": m["content"]})
    if turns[-1]["role"] != "assistant" or not turns[-1]["content"].strip():
        raise InputError(f"{path}, {where}: the last message must be a non-empty assistant turn")
    if not any(t["role"] == "user" for t in turns[:-1]):
        raise InputError(f"{path}, {where}: no user turn before the answer; {fix}")
    index = where.split()[-1]
    return Row(
        id=f"mix/{path.name}/{index}",
        prompt=turns[:-1],
        answer=turns[-1]["content"],
        think="",
        origin="instruct",
        source=str(path),
    )
