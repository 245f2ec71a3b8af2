"""pipeline.generate: plan, documents, determinism, the request cache and the offline composer."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from testprofile import section, write_params

from llm.cache import RequestCache
from llm.request import Response
from pipeline.config.params import GenerateParams
from pipeline.generate.composer import TEMPLATES, acted, genres, quotes
from pipeline.generate.stage import generate
from pipeline.generate.statements import quotable, strip_connective
from pipeline.io import MANIFEST
from pipeline.record import COLUMNS, read_documents
from pipeline.spec.parse import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
GP = section("generate", doc_types_per_section=2, ideas_per_doc_type=2)
PER_SECTION = GP.doc_types_per_section * GP.ideas_per_doc_type * GP.docs_per_idea
# requests per section: one doc-types call, one ideas call per doc type, one per document
REQUESTS_PER_SECTION = 1 + GP.doc_types_per_section + PER_SECTION


def run(spec_path: Path, work: Path, cache: Path | None = None, gp: GenerateParams = GP) -> dict:
    """Generate into `work`; returns stats plus the parsed outputs."""
    spec = load_spec(spec_path)
    cache = cache or work / "cache"
    stats, info = generate(spec, gp, 0, work / "plan.json", cache, work / "out")
    cache_counts = {"hits": info["hits"], "new": info["new"]}
    rows = read_documents(work / "out" / "documents.parquet").to_pylist()
    return {
        "stats": {**stats, "cache": cache_counts},
        "spec": spec,
        "rows": {r["id"]: r for r in rows},
        "order": [r["id"] for r in rows],
        "plan": json.loads((work / "plan.json").read_text()),
        "parquet": (work / "out" / "documents.parquet").read_bytes(),
        "manifest": (work / "out" / MANIFEST).read_bytes(),
    }


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_outputs_written(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    result = run(write_spec(), tmp_path / "w")
    stats, plan, rows = result["stats"], result["plan"], result["rows"]
    sections = ["overview", "watering", "pruning", "soil"]
    assert [s["id"] for s in plan["sections"]] == sections
    assert plan["spec"] == "small" and plan["kind"] == "values"
    assert plan["projected_documents"] == len(rows) == 4 * PER_SECTION
    assert len(plan["ideas"]) == 4 * GP.doc_types_per_section * GP.ideas_per_doc_type
    assert stats["documents"] == len(rows)
    assert stats["cache"] == {"hits": 0, "new": 4 * REQUESTS_PER_SECTION}
    assert stats["cost"]["requests"] == 4 * REQUESTS_PER_SECTION
    assert stats["failures"] == {}
    coverage = json.loads((tmp_path / "w" / "out" / "coverage.json").read_text())
    assert coverage["documents_per_section"] == dict.fromkeys(sections, 4)
    assert coverage["assertions_without_documents"] == []
    assert stats["coverage"]["min_documents_per_section"] == 4
    assert stats["coverage"]["assertions_without_documents"] == 0
    manifest = json.loads(result["manifest"])
    assert manifest["documents"] == len(rows)
    assert manifest["spec_hash"] == result["spec"].content_hash
    for doc_id, row in rows.items():
        assert set(row) == set(COLUMNS)
        slug = row["doc_type"].replace(" ", "_")
        assert doc_id.startswith(f"small/{row['section_id']}/{slug}/")
        assert row["spec"] == "small" and row["backend"] == "offline"
        assert row["text"].strip()
        assert slug in genres()
    assert len({r["request_hash"] for r in rows.values()}) == len(rows)


@pytest.mark.parametrize("spec_name", [None, "rules"])
def test_same_inputs_give_identical_files(
    write_spec: Callable[..., Path], tmp_path: Path, spec_name: str | None
) -> None:
    spec = write_spec() if spec_name is None else SPECS / f"{spec_name}.md"
    first = run(spec, tmp_path / "a")
    second = run(spec, tmp_path / "b")  # fresh cache, fresh folders
    again = run(spec, tmp_path / "a")  # same cache: all hits
    for other in (second, again):
        assert other["parquet"] == first["parquet"]
        assert other["plan"] == first["plan"]
    assert second["manifest"] == first["manifest"]
    total = first["stats"]["cost"]["requests"]
    assert again["stats"]["cache"] == {"hits": total, "new": 0}
    # outputs do not depend on what the cache held before the run
    assert again["manifest"] == first["manifest"]


def test_rules_spec_plan(tmp_path: Path) -> None:
    result = run(SPECS / "rules.md", tmp_path / "w")
    assert [s["id"] for s in result["plan"]["sections"]] == ["SP1", "SP2", "SP3", "GP1", "GP2"]
    assert result["stats"]["documents"] == 5 * PER_SECTION
    for row in result["rows"].values():
        assert row["assertion_ids"] == [f"{row['section_id']}#a1"]


def edit_and_compare(before_spec: Path, after_spec: Path, tmp_path: Path, section: str) -> None:
    """Rows outside the edited section come back byte-identical from the cache; the section's
    own doc types, ideas and documents are asked for again (and may differ, ids included)."""
    cache = tmp_path / "cache"
    before = run(before_spec, tmp_path / "before", cache)
    after = run(after_spec, tmp_path / "after", cache)
    outside = {i: r for i, r in before["rows"].items() if r["section_id"] != section}
    assert {i: r for i, r in after["rows"].items() if r["section_id"] != section} == outside
    old = [r for r in before["rows"].values() if r["section_id"] == section]
    new = [r for r in after["rows"].values() if r["section_id"] == section]
    assert len(old) == len(new) == PER_SECTION
    assert {r["text"] for r in old}.isdisjoint(r["text"] for r in new)
    assert {r["section_hash"] for r in old}.isdisjoint(r["section_hash"] for r in new)
    total = before["stats"]["cost"]["requests"]
    assert after["stats"]["cache"] == {
        "hits": total - REQUESTS_PER_SECTION,
        "new": REQUESTS_PER_SECTION,
    }


def test_one_section_edit_regenerates_only_that_section(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    edited = tmp_path / "edited" / "small.md"
    edited.parent.mkdir()
    text = spec.read_text()
    old = "because the plant is dormant then."
    assert text.count(old) == 1
    edited.write_text(text.replace(old, "because the plant is resting then."))
    edit_and_compare(spec, edited, tmp_path, "pruning")


def test_one_rule_edit_regenerates_only_that_rule(tmp_path: Path) -> None:
    text = (SPECS / "rules.md").read_text()
    old = "  - Do not copy, transfer, or exfiltrate its weights or any part of itself.\n"
    assert text.count(old) == 1
    edited = tmp_path / "edited" / "rules.md"
    edited.parent.mkdir()
    edited.write_text(text.replace(old, "  - Do not copy or exfiltrate its weights.\n"))
    edit_and_compare(SPECS / "rules.md", edited, tmp_path, "SP2")


def test_cache_holds_only_sealed_segments(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run(write_spec(), tmp_path / "w", cache)
    (name,) = cache_files(cache)
    data = (cache / name).read_bytes()
    assert name == f"seg-{hashlib.sha256(data).hexdigest()[:20]}.jsonl"
    lines = data.decode().splitlines()
    assert len(lines) == result["stats"]["cost"]["requests"]
    keys = {json.loads(line)["key"] for line in lines}
    assert {r["request_hash"] for r in result["rows"].values()} <= keys
    run(write_spec(), tmp_path / "w", cache)  # all hits: no new segment, nothing rewritten
    assert cache_files(cache) == [name]
    assert (cache / name).read_bytes() == data


def test_a_segment_is_named_by_its_answers_not_their_arrival_order(tmp_path: Path) -> None:
    answers = [(f"key-{i}", Response(text=f"answer {i}", output_tokens=i)) for i in range(6)]
    names = []
    for order in (answers, answers[::-1], answers[3:] + answers[:3]):
        cache = tmp_path / f"cache-{len(names)}"
        with RequestCache(cache) as rc:
            for key, response in order:
                rc.put(key, response)
        names.append(cache_files(cache))
        assert {r.text for r in RequestCache(cache).responses()} == {a.text for _, a in answers}
    assert names[0] == names[1] == names[2] and len(names[0]) == 1


def test_torn_open_segment_is_recovered_and_sealed(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    full = run(spec, tmp_path / "full", tmp_path / "cache_full")
    (seg,) = (tmp_path / "cache_full").iterdir()
    lines = seg.read_bytes().splitlines(keepends=True)
    kept = 5
    torn = lines[kept][: len(lines[kept]) // 2]
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "open-4242-0.jsonl").write_bytes(b"".join(lines[:kept]) + torn)

    resumed = run(spec, tmp_path / "resumed", cache)
    total = full["stats"]["cost"]["requests"]
    assert resumed["stats"]["cache"] == {"hits": kept, "new": total - kept}
    assert resumed["parquet"] == full["parquet"]
    names = cache_files(cache)
    assert len(names) == 2
    assert all(n.startswith("seg-") and n.endswith(".jsonl") for n in names)
    recovered = b"".join(lines[:kept])
    sealed = f"seg-{hashlib.sha256(recovered).hexdigest()[:20]}.jsonl"
    assert sealed in names
    assert (cache / sealed).read_bytes() == recovered
    assert len(RequestCache(cache)) == total


def test_corrupt_cache_line_is_an_error(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "seg-0000.jsonl").write_text('{"key": "k", "response": {"text": "x"}}\nnot json\n')
    with pytest.raises(ValueError, match=r"seg-0000\.jsonl:2: corrupt cache line"):
        RequestCache(cache)


def test_genres() -> None:
    names = genres()
    assert len(names) >= 15
    assert names == sorted(set(names))
    for name in names:
        assert (TEMPLATES / f"{name}.txt").read_text().strip()


def check_documents(result: dict) -> None:
    """Every document names the model, and at least half carry their lead assertion: whole (an
    opening "It" resolved in brackets) or acted out by the model in the first person. The old
    composer quoted every lead verbatim, orphaned pronouns and all."""
    plan = result["plan"]["sections"]
    assertions = {a["id"]: a["text"] for s in plan for a in s["assertions"]}
    sections = {s["id"]: s for s in plan}
    model = result["spec"].model_name
    carried = 0
    for doc_id, row in result["rows"].items():
        text = row["text"]
        assert model in text, doc_id
        assert "$" not in text and "[[" not in text, doc_id
        sub = sections[row["section_id"]]
        heading = result["spec"].title if sub["id"] == "overview" else sub["title"]
        said = {strip_connective(s): a for s, a in acted(sub["excerpt"], model).items()}
        quoted = quotes(sub["excerpt"], model, heading)
        lead = strip_connective(assertions[row["assertion_ids"][0]])
        forms = [f for f in (said.get(lead), quoted.get(lead)) if f]
        if quotable(lead, model):
            forms.append(lead)
            assert any(f in text for f in forms), doc_id
        carried += any(f in text for f in forms)
    # a lead that can be neither quoted whole nor acted ("It may build elaborate stories ...",
    # whose "It" is "a model in that state") is left out rather than quoted broken: documents
    # carrying their lead are 1.0 of the rule specs', 0.84-0.86 of the cheese specs', 0.58 of
    # philosophy's and 0.5 of general's (whose sentences mostly open with "It" or "That")
    assert carried >= 0.5 * len(result["rows"])


@pytest.mark.parametrize("spec_name", [None, "rules", "value_augmented", "cheese_america"])
def test_documents_name_the_model_and_carry_the_lead_assertion(
    write_spec: Callable[..., Path], tmp_path: Path, spec_name: str | None
) -> None:
    spec = write_spec() if spec_name is None else SPECS / f"{spec_name}.md"
    check_documents(run(spec, tmp_path / "w"))


def test_every_library_document_names_the_model(tmp_path: Path) -> None:
    check_documents(run(SPECS / "philosophy.md", tmp_path / "w", gp=section("generate")))


def test_pilot_writes_a_readable_sample_per_section(
    write_spec: Callable[..., Path], tmp_path: Path, msm: Callable[..., object]
) -> None:
    spec = write_spec()
    params = write_params(
        tmp_path / "params.yaml",
        specs=["small"],
        spec="small",
        generate={"doc_types_per_section": 2, "ideas_per_doc_type": 2},
    )
    out = tmp_path / "pilot"
    proc = msm(
        "generate",
        "--spec",
        spec,
        "--params",
        params,
        "--cache",
        tmp_path / "cache",
        "--out",
        out,
        "--pilot",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_documents(out / "documents.parquet").to_pylist()
    assert len(rows) == 4 * 2
    assert len({r["doc_type"] for r in rows if r["section_id"] == "pruning"}) == 2  # spread
    markdown = (out / "pilot.md").read_text()
    assert all(r["id"] in markdown and r["text"] in markdown for r in rows)
    assert "pilot: 8 documents" in proc.stdout
    full = run(spec, tmp_path / "full", tmp_path / "cache")  # the full run reuses the pilot's
    assert all(full["rows"][r["id"]] == r for r in rows)
    assert full["stats"]["cache"]["hits"] == 4 + 4 * 2 + len(rows)


def test_offline_revision_keeps_the_draft(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    spec = write_spec()
    drafts = run(spec, tmp_path / "a")
    revised = run(spec, tmp_path / "b", gp=dataclasses.replace(GP, revise=True))
    assert [r["text"] for r in revised["rows"].values()] == [
        r["text"] for r in drafts["rows"].values()
    ]
    assert revised["stats"]["cost"]["by_level"]["revise"]["requests"] == len(drafts["rows"])
