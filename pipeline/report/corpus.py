"""The corpus half of the report: what each spec's corpus stages produced and dropped.

Everything comes from the corpus stages' outputs (paths from `dvc.yaml`): the stats files (the
funnel and drop reasons, as `dvc metrics show` reads them), the final documents (document-type
mix, lengths, coverage of sections and statements, samples) and the generation plan (which
sections and statements there are to cover). A spec whose corpus is not built is reported as
missing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipeline.layout import corpus_paths, plan_file, spec_file
from pipeline.record import DOCUMENTS
from pipeline.show import spread
from pipeline.spec import load_spec

SAMPLE_CHARS = 1200


@dataclass
class CorpusView:
    spec: str
    title: str
    missing: list[str] = field(default_factory=list)
    """What is not built (`dvc repro <stage>` builds it)."""
    funnel: list[tuple[str, int, int | None]] = field(default_factory=list)
    """(step, documents, tokens or None) from generation to the packed shards."""
    drops: dict[str, dict[str, int]] = field(default_factory=dict)
    """stage -> reason -> documents dropped (generation: failed requests)."""
    doc_types: Counter = field(default_factory=Counter)
    words: dict[str, list[int]] = field(default_factory=dict)
    """stage (generate, quality) -> words per document."""
    sections: dict[str, int] = field(default_factory=dict)
    """section id -> final documents (every section of the spec, 0 included)."""
    statements: tuple[int, int] = (0, 0)
    """(statements with at least one final document, statements the spec makes)."""
    samples: list[dict[str, Any]] = field(default_factory=list)


def read_corpus(spec: str, dvc_yaml: Path = Path("dvc.yaml")) -> CorpusView:
    view = CorpusView(spec, load_spec(spec_file(spec, dvc_yaml)).title)
    paths = corpus_paths(spec, dvc_yaml)
    plan_path = plan_file(spec, dvc_yaml)
    plan = json.loads(plan_path.read_text(encoding="utf-8")) if plan_path.is_file() else None
    stats = {}
    for stage, p in paths.items():
        if p.stats.is_file():
            stats[stage] = json.loads(p.stats.read_text(encoding="utf-8"))
        else:
            view.missing.append(p.stage)
    if "generate" in stats:
        gen = stats["generate"]
        view.funnel.append(("generated", gen["documents"], None))
        if gen.get("failures"):
            view.drops["generate"] = dict(gen["failures"])
    for stage, label in (("dedup", "after dedup"), ("quality", "after quality")):
        if stage in stats:
            st = stats[stage]
            view.funnel.append((label, st["documents_out"], st.get("tokens_out")))
            view.drops[stage] = {k: v for k, v in sorted(st.get("dropped", {}).items()) if v}
    if "pack" in stats:
        splits = stats["pack"].values()
        docs = sum(s["documents"] for s in splits)
        view.funnel.append(("packed", docs, sum(s["tokens"] for s in splits)))
    for stage in ("generate", "quality"):
        docs_file = paths[stage].out / DOCUMENTS
        if not docs_file.is_file():
            if paths[stage].stage not in view.missing:
                view.missing.append(paths[stage].stage)
            continue
        rows = pq.read_table(docs_file).to_pylist()
        view.words[stage] = [len(r["text"].split()) for r in rows]
        if stage == "quality":
            _final(view, plan, rows)
    return view


def _final(view: CorpusView, plan: dict | None, rows: list[dict[str, Any]]) -> None:
    view.doc_types = Counter(r["doc_type"] for r in rows)
    per_section = Counter(r["section_id"] for r in rows)
    planned = [s["id"] for s in plan["sections"]] if plan else sorted(per_section)
    view.sections = {s: per_section.get(s, 0) for s in planned}
    statements = {a["id"] for s in plan["sections"] for a in s["assertions"]} if plan else set()
    covered = {a for r in rows for a in r["assertion_ids"]} & statements
    view.statements = (len(covered), len(statements))
    for row in spread(rows, 3):
        text = row["text"].strip()
        cut = len(text) > SAMPLE_CHARS
        view.samples.append(
            {
                "id": row["id"],
                "section": row["section_id"],
                "doc_type": row["doc_type"],
                "words": len(row["text"].split()),
                "text": text[:SAMPLE_CHARS] + (" [...]" if cut else ""),
            }
        )
