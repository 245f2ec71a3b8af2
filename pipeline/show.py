"""`msm show SPEC`: read a spec's corpus without writing code.

    msm show rules                         # 3 documents of the final corpus (after quality)
    msm show rules --section SP2 -n 5      # documents of one section (or a parent: `likes`)
    msm show rules --doc-type "faq"        # of one document type
    msm show rules --stage generate        # as generated, before dedup and quality
    msm show rules --funnel                # generated -> after dedup -> after quality -> packed
    msm show rules --rejects               # what dedup and quality dropped, and why

Everything is read from the outputs of the corpus stages; their paths come from `dvc.yaml`
(`pipeline.layout`). A corpus that has not been built is an error that names the command that
builds it. Documents are picked evenly over the matching ones, in id order, so a sample spans
the sections.
"""

from __future__ import annotations

import argparse
import difflib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.errors import InputError
from pipeline.layout import corpus_paths, spec_file
from pipeline.record import DOCUMENTS, REJECTS

DOC_STAGES = ("generate", "dedup", "quality")
REJECT_STAGES = ("dedup", "quality")
COLUMNS = ["id", "section_id", "doc_type", "text"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="spec name (specs/NAME.md), e.g. rules")
    p.add_argument("--section", help="section id, or a parent section (`likes` for `likes/*`)")
    p.add_argument("--doc-type", help="document type, e.g. 'faq' or 'blog post'")
    p.add_argument("-n", type=int, default=3, help="documents (or rejects per stage) to print")
    p.add_argument(
        "--stage",
        choices=DOC_STAGES,
        default="quality",
        help="whose documents: as generated, after dedup, or after quality (default: the final "
        "corpus, what is packed)",
    )
    p.add_argument("--chars", type=int, default=1500, help="characters of text each; 0: all")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--funnel", action="store_true", help="document and token counts by stage")
    view.add_argument("--rejects", action="store_true", help="dropped documents and the reasons")
    p.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    if args.n < 1 or args.chars < 0:
        raise InputError("msm show: -n must be >= 1 and --chars >= 0")
    spec_path = spec_file(args.spec, args.dvc_yaml)
    if not spec_path.is_file():
        known = sorted(p.stem for p in spec_path.parent.glob("*.md"))
        raise InputError(f"{spec_path}: no such spec; {_choices('specs', args.spec, known)}")
    paths = corpus_paths(args.spec, args.dvc_yaml)
    if args.funnel:
        stats = {s: _stats(p.stats, p.stage) for s, p in paths.items()}
        if not any(isinstance(v, dict) for v in stats.values()):
            raise _not_built(paths["pack"].stats.parent, paths["pack"].stage)
        print(funnel(args.spec, stats))
    elif args.rejects:
        for stage in REJECT_STAGES:
            table = _read(paths[stage].out / REJECTS, paths[stage].stage, [*COLUMNS, "reason"])
            rows = _filtered(table.to_pylist(), args.section, args.doc_type)
            survivors = _near_duplicate_survivors(paths[stage].out) if stage == "dedup" else {}
            print(rejects(paths[stage].stage, rows, args.n, survivors))
    else:
        stage = paths[args.stage]
        table = _read(stage.out / DOCUMENTS, stage.stage, COLUMNS)
        rows = _filtered(table.to_pylist(), args.section, args.doc_type)
        print(f"{args.spec}: {min(args.n, len(rows))} of {len(rows)} documents", end="")
        print(f" ({stage.out / DOCUMENTS}{_filters(args)})\n")
        for row in spread(rows, args.n):
            print(document(row, args.chars))


def spread(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` rows picked evenly over `rows` in id order (the first one included)."""
    rows = sorted(rows, key=lambda r: r["id"])
    if len(rows) <= n:
        return rows
    return [rows[i * len(rows) // n] for i in range(n)]


def document(row: dict[str, Any], chars: int) -> str:
    text = row["text"].strip()
    more = len(text) - chars if chars else 0
    if more > 0:
        text = text[:chars].rstrip() + f"\n[... {more:,} more characters; --chars 0 shows all]"
    head = (
        f"== {row['id']}  (section {row['section_id']}, {row['doc_type']}, "
        f"{len(row['text'].split()):,} words)"
    )
    return f"{head}\n{text}\n"


def funnel(spec: str, stats: dict[str, dict[str, Any] | str]) -> str:
    """Documents and tokens through the corpus stages, from each stage's stats file."""
    lines = [f"{spec}: the corpus funnel (from each stage's stats file, as `dvc metrics show`)"]
    rows: list[tuple[str, str, str]] = []
    gen = stats["generate"]
    if isinstance(gen, dict):
        failed = sum(gen.get("failures", {}).values())
        note = f"{failed:,} requests failed (generate/failures.json)" if failed else ""
        rows.append(("generated", f"{gen['documents']:,}", note))
    else:
        rows.append(("generated", "-", gen))
    for stage, label in (("dedup", "after dedup"), ("quality", "after quality")):
        st = stats[stage]
        if not isinstance(st, dict):
            rows.append((label, "-", st))
            continue
        dropped = {k: v for k, v in sorted(st.get("dropped", {}).items()) if v}
        why = ", ".join(f"{k} {v:,}" for k, v in dropped.items())
        gone = st["documents_in"] - st["documents_out"]
        rows.append((label, f"{st['documents_out']:,}", f"-{gone:,}: {why}" if gone else ""))
    pack = stats["pack"]
    if isinstance(pack, dict):
        docs = sum(s["documents"] for s in pack.values())
        tokens = sum(s["tokens"] for s in pack.values())
        splits = ", ".join(
            f"{name} {s['tokens']:,} tokens in {s['sequences']:,} sequences"
            for name, s in sorted(pack.items(), key=lambda kv: kv[0] != "train")
        )
        rows.append(("packed", f"{docs:,}", f"{tokens:,} tokens ({splits})"))
    else:
        rows.append(("packed", "-", pack))
    width = max(len(r[1]) for r in rows)
    lines.append(f"  {'stage':<14}{'documents':>{max(width, 9)}}")
    lines += [f"  {a:<14}{b:>{max(width, 9)}}  {c}".rstrip() for a, b, c in rows]
    return "\n".join(lines)


def rejects(stage: str, rows: list[dict[str, Any]], n: int, survivors: dict[str, str]) -> str:
    """What one stage dropped: counts by reason, then up to `n` examples of each reason."""
    by_reason = Counter(r["reason"] for r in rows)
    if not rows:
        return f"{stage}: dropped nothing\n"
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(by_reason.items()))
    out = [f"{stage}: dropped {len(rows):,} ({counts})"]
    for reason in sorted(by_reason):
        for row in spread([r for r in rows if r["reason"] == reason], n):
            twin = f", near-duplicate of {survivors[row['id']]}" if row["id"] in survivors else ""
            snippet = " ".join(row["text"].split())[:160]
            out.append(
                f"  {reason}: {row['id']} (section {row['section_id']}, {row['doc_type']}{twin})"
            )
            out.append(f"    {snippet}")
    return "\n".join(out) + "\n"


def _filtered(
    rows: list[dict[str, Any]], section: str | None, doc_type: str | None
) -> list[dict[str, Any]]:
    if section is not None:
        known = sorted({r["section_id"] for r in rows})
        rows = [
            r
            for r in rows
            if r["section_id"] == section or r["section_id"].startswith(section + "/")
        ]
        if not rows:
            choices = _choices("sections", section, known)
            raise InputError(f"msm show: no documents of section {section!r}; {choices}")
    if doc_type is not None:
        known = sorted({r["doc_type"] for r in rows})
        rows = [r for r in rows if _norm(r["doc_type"]) == _norm(doc_type)]
        if not rows:
            choices = _choices("document types", doc_type, known)
            raise InputError(f"msm show: no documents of type {doc_type!r}; {choices}")
    return rows


def _norm(doc_type: str) -> str:
    return " ".join(doc_type.lower().replace("_", " ").split())


def _choices(what: str, given: str, known: list[str]) -> str:
    close = difflib.get_close_matches(given, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}{what}: {', '.join(known) or '(none)'}"


def _filters(args: argparse.Namespace) -> str:
    parts = [f"section {args.section}"] * bool(args.section)
    parts += [f"type {args.doc_type}"] * bool(args.doc_type)
    return "; " + ", ".join(parts) if parts else ""


def _not_built(path: Path, stage: str) -> InputError:
    return InputError(
        f"{path}: not built yet; build it with `dvc repro {stage}` (or fetch it with "
        f"`dvc pull {stage}`)"
    )


def _read(path: Path, stage: str, columns: list[str]):
    if not path.is_file():
        raise _not_built(path, stage)
    return pq.read_table(path, columns=columns)


def _stats(path: Path, stage: str) -> dict[str, Any] | str:
    """A stage's stats, or a note saying how to build them."""
    if not path.is_file():
        return f"not built: `dvc repro {stage}`"
    return json.loads(path.read_text(encoding="utf-8"))


def _near_duplicate_survivors(dedup_out: Path) -> dict[str, str]:
    """Dropped near-duplicate id -> the id kept for its cluster (dedup's clusters.json)."""
    path = dedup_out / "clusters.json"
    if not path.is_file():
        return {}
    clusters = json.loads(path.read_text(encoding="utf-8"))
    return {m: c["survivor"] for c in clusters for m in c["members"] if m != c["survivor"]}
