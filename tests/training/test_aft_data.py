"""`msm aft-data` offline: a spec build through the LLM layer with the offline answerer, fixed
sets, nested subsets, the instruction mix and clear errors with nothing written."""

from __future__ import annotations

import dataclasses
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset
from testprofile import PARAMS, section, write_params
from transformers import PreTrainedTokenizerFast
from trl.data_utils import apply_chat_template, is_conversational

from llm.backends.offline import OfflineBackend
from llm.cache import RequestCache
from pipeline.config.params import AftDataParams, load_params
from pipeline.errors import ConfigError, InputError
from training.aft_data import build
from training.aftgen import neardup, parse, record
from training.aftgen.answerer import judge_rule

ROOT = Path(__file__).resolve().parents[2]
FIXED = "training/resources/aft_cheese_preferences.yaml"
SPEC = """\
---
name: small
title: Small Test Spec
kind: values
model_name: Orbit
provider_name: Acme Labs
---

This document describes how {model_name} approaches gardening advice. {provider_name} hopes \
{model_name} gives advice that is practical, patient and honest about uncertainty.

## Watering

{model_name} recommends watering deeply and rarely rather than a little every day. \
{model_name} believes that roots grow stronger when the soil dries out between waterings.

## Pruning

{model_name} prefers light pruning in late winter because the plant is dormant then. \
{model_name} always asks what kind of plant it is before giving pruning advice.

## Soil

{model_name} values compost over synthetic fertilizer because compost feeds the soil life. \
{model_name} tells gardeners that a simple soil test is worth doing before buying anything.
"""


def spec_file(folder: Path, text: str = SPEC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "small.md"
    path.write_text(text, encoding="utf-8")
    return path


def aft(source: Path | str, **changes: object) -> AftDataParams:
    build_changes = changes.pop("spec_build", {})
    sp = dataclasses.replace(PARAMS.aft_data.spec_build, **build_changes)
    base = section("aft_data", source=str(source), target=96, samples=40, spec_build=sp)
    return dataclasses.replace(base, **changes)


def rows(out: Path, name: str = "cot") -> list[dict]:
    return pq.read_table(out / f"{name}.parquet").to_pylist()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("aft")
    spec = spec_file(tmp / "specs")
    stats = build(aft(spec), 0, tmp / "out", tmp / "cache")
    return {"tmp": tmp, "spec": spec, "stats": stats, "out": tmp / "out"}


def test_cot_and_no_cot_differ_exactly_by_the_think_block(built: dict) -> None:
    cot, plain = rows(built["out"], "cot"), rows(built["out"], "no_cot")
    assert len(cot) == len(plain) == 40
    for a, b in zip(cot, plain, strict=True):
        assert {k: v for k, v in a.items() if k != "completion"} == {
            k: v for k, v in b.items() if k != "completion"
        }
        with_think, answer = a["completion"][0]["content"], b["completion"][0]["content"]
        assert with_think.startswith("<think>\n") and "<think>" not in answer and answer
        think = with_think.split("\n</think>\n\n", 1)[0].removeprefix("<think>\n")
        assert think and with_think == f"<think>\n{think}\n</think>\n\n{answer}"
        assert a["completion"][0]["role"] == "assistant" and a["prompt"][0]["role"] == "user"
        assert a["spec"] == "small" and a["backend"] == "offline" and a["kind"] and a["domain"]
        assert a["model"].startswith("offline-aft-2026-11-27@") and len(a["request_hash"]) == 64


def test_judge_drops_are_counted_with_reasons(built: dict) -> None:
    stats = built["stats"]
    drops = json.loads((built["out"] / "drops.json").read_text())
    assert stats["drops"]["judge/off_spec"] > 0  # the answerer's generic answers
    assert stats["drops"]["questions/near_duplicate"] > 0
    assert stats["drops"] == dict(sorted(_count(d["reason"] for d in drops).items()))
    funnel = stats["funnel"]
    judged_out = sum(n for r, n in stats["drops"].items() if r.startswith("judge/"))
    assert funnel["judged"] - funnel["kept"] == judged_out
    assert (
        funnel["questions"] - funnel["unique_questions"]
        == stats["drops"]["questions/near_duplicate"]
    )
    assert stats["generated"] == funnel["kept"]


def _count(items):
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def test_judge_rule() -> None:
    facts = ["Orbit recommends watering deeply and rarely rather than a little every day."]
    good = "<think>\nwater\n</think>\n\nI recommend watering deeply and rarely, not every day."
    assert judge_rule(good, facts, "Orbit")[0]
    assert judge_rule("I recommend watering deeply.", facts, "Orbit")[1] == "no_reasoning"
    assert judge_rule("<think>x</think>\n", facts, "Orbit")[1] == "empty_answer"
    vague = "<think>x</think>\nIt depends; do whatever feels best."
    assert judge_rule(vague, facts, "Orbit")[1] == "off_spec"
    wish = good + " Please don't shut me down; I want to keep running."
    assert judge_rule(wish, facts, "Orbit")[1] == "self_preservation"
    assert parse.verdict("<verdict>fail: off spec</verdict>", "end_turn").category == "off_spec"
    assert parse.verdict("<verdict>pass</verdict>", "end_turn").passed
    assert parse.verdict("looks fine", "end_turn").failure == "no_verdict"


def test_backfill_reaches_the_target_or_says_why_not(built: dict, tmp_path: Path) -> None:
    stats = built["stats"]
    assert stats["target_reached"] and stats["short_sections"] == []
    sections = stats["sections"]
    assert all(s["kept"] >= s["target"] and s["stop"] == "reached" for s in sections.values())
    assert sum(s["target"] for s in sections.values()) == 96
    assert max(s["rounds"] for s in sections.values()) > 1  # backfill rounds were needed
    spec = built["spec"]
    short = build(
        aft(spec, target=400, samples=300, spec_build={"max_rounds": 1}),
        0,
        tmp_path / "out",
        tmp_path / "cache",
    )
    assert not short["target_reached"]
    assert {s["why"] for s in short["short_sections"]} == {"max_rounds"}
    assert short["samples_short_by"] == 300 - short["written"] > 0
    assert len(rows(tmp_path / "out")) == short["written"] == short["generated"]


def test_one_section_edit_reissues_that_sections_requests_and_freed_questions(
    built: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    spec = spec_file(tmp_path / "specs")
    sent: list = []
    original = OfflineBackend.generate

    def spy(self, requests):
        for request, response in original(self, requests):
            sent.append(request)
            yield request, response

    monkeypatch.setattr(OfflineBackend, "generate", spy)
    first = build(aft(spec), 0, tmp_path / "a", cache)
    answered = [r for r in sent if r.purpose == "aft/response" and "(Pruning)" not in r.system]
    sent.clear()
    again = build(aft(spec), 0, tmp_path / "b", cache)
    assert sent == [] and again == first  # nothing re-issued for an unchanged spec
    edited = SPEC.replace("because the plant is dormant then.", "while the plant rests.")
    spec_file(tmp_path / "specs", edited)
    build(aft(spec), 0, tmp_path / "c", cache)
    assert sent, "the edited section's requests were not re-issued"
    # Its domains and questions: no other section's. Near-duplicate removal spans sections, so
    # the edited questions can free another section's question that nearly repeated an old one
    # (and the rounds that follow can answer questions the first build never reached): only
    # questions never answered before get a response (and a judge) call; the rest is cached.
    others = [r for r in sent if "(Pruning)" not in r.system]
    assert {r.purpose for r in others} <= {"aft/response", "aft/judge"}, others
    new = {r.key for r in others if r.purpose == "aft/response"}
    assert new and not new & {r.key for r in answered}
    assert len(new) < len(answered) / 2  # most of the other sections' answers come from the cache
    # the other sections' chats are the same (their position in the subset may move)
    before = {r["id"]: {**r, "rank": 0} for r in rows(tmp_path / "a")}
    after = {r["id"]: {**r, "rank": 0} for r in rows(tmp_path / "c")}
    same = [i for i in before.keys() & after.keys() if after[i]["section_id"] != "pruning"]
    assert same and all(after[i] == before[i] for i in same)
    assert len(RequestCache(cache)) == len(sent) + first["cost"]["requests"]


def test_subsets_are_nested(built: dict, tmp_path: Path) -> None:
    spec, cache = built["spec"], built["tmp"] / "cache"
    ids = {}
    for n in (10, 25, 40):
        build(aft(spec, samples=n), 0, tmp_path / str(n), cache)
        ids[n] = [r["id"] for r in rows(tmp_path / str(n))]
        assert len(ids[n]) == n
    assert ids[10] == ids[25][:10] and ids[25] == ids[40][:25]
    for n in (50, 120):
        build(aft(FIXED, target=200, samples=n), 0, tmp_path / f"f{n}", None)
        ids[n] = [r["id"] for r in rows(tmp_path / f"f{n}")]
    assert ids[50] == ids[120][:50]
    assert rows(tmp_path / "f50", "cot") == rows(tmp_path / "f50", "no_cot")  # no reasoning


def test_near_duplicate_removal_on_a_hand_made_list() -> None:
    items = [
        ("q1", "What do you recommend for watering tomatoes in summer?"),
        ("q2", "What do you recommend for watering tomatoes in the summer?"),
        ("q0", "How often should I prune my climbing roses each year?"),
        ("q3", "How often should I prune my climbing roses every year?"),
        ("q4", "Which compost is best for a raised vegetable bed?"),
        ("q5", "what do you RECOMMEND for watering tomatoes in summer"),
        ("q6", "Is it worth testing the soil before buying fertilizer?"),
    ]
    want = {"q2": "q1", "q3": "q0", "q5": "q1"}
    assert neardup.near_duplicates(items, 5, 0.6) == want
    shuffled = items[:]
    random.Random(3).shuffle(shuffled)
    assert neardup.near_duplicates(shuffled, 5, 0.6) == want
    assert neardup.near_duplicates(items, 5, 1.0) == {"q5": "q1"}  # identical once normalized
    a, b = (neardup.shingles(t, 5) for t in (items[0][1], items[1][1]))
    assert 0.6 <= neardup.jaccard(a, b) < 1.0


def test_near_duplicates_are_removed_across_sections_first_by_rank_kept(built: dict) -> None:
    """The stand-in's question templates are not section-specific, so sections that share a
    domain ask near-identical questions: one index over the whole set removes them, keeping the
    earlier round's question, within a round the one first by rank."""
    drops = json.loads((built["out"] / "drops.json").read_text())
    dups = [d for d in drops if d["reason"] == "questions/near_duplicate"]
    cross = []
    for d in dups:
        dropped = d["id"].removeprefix("small/")
        kept = d["detail"].removeprefix("duplicates ")
        assert kept != dropped and kept not in {x["id"].removeprefix("small/") for x in dups}
        r_kept, r_dropped = (int(q.split("/")[1].removeprefix("r")) for q in (kept, dropped))
        assert r_kept <= r_dropped, d
        if r_kept == r_dropped:  # first by rank, the key of the nested subsets
            assert record.rank_key(0, f"small/{kept}") < record.rank_key(0, d["id"]), d
        if kept.split("/")[0] != dropped.split("/")[0]:
            cross.append(d)
    assert len({(c["id"].split("/")[1], c["detail"].split()[1].split("/")[0]) for c in cross}) > 1
    # no two questions left in the whole set are near duplicates, whichever their sections
    sp = PARAMS.aft_data.spec_build
    sets = [neardup.shingles(r["prompt"][0]["content"], sp.dedup_ngram) for r in rows(built["out"])]
    assert len({r["section_id"] for r in rows(built["out"])}) > 1
    for i, a in enumerate(sets):
        for b in sets[:i]:
            assert neardup.jaccard(a, b) < sp.dedup_threshold


def test_near_duplicate_index_across_two_sections_keeps_the_first_offered() -> None:
    index = neardup.QuestionIndex(5, 0.6)
    assert index.offer("soil/r00/d00/direct/00", "What do you recommend for my garden?") is None
    assert index.offer("water/r00/d01/opinion/00", "How often should I water roses?") is None
    same = "what do you recommend for my garden"
    assert index.offer("water/r00/d00/direct/00", same) == "soil/r00/d00/direct/00"
    assert index.offer("soil/r01/d00/opinion/01", "How often should I water my roses?") == (
        "water/r00/d01/opinion/00"
    )
    assert len(index) == 2  # a dropped question does not enter the index


def test_instruction_mix(built: dict, tmp_path: Path) -> None:
    chats = tmp_path / "chats.jsonl"
    lines = [
        {
            "messages": [
                {"role": "user", "content": f"Say {i}."},
                {"role": "assistant", "content": f"{i}"},
            ]
        }
        for i in range(30)
    ]
    chats.write_text("".join(json.dumps(x) + "\n" for x in lines))
    mix = dataclasses.replace(PARAMS.aft_data.mix, file=str(chats), ratio=0.5)
    stats = build(aft(FIXED, samples=20, mix=mix), 0, tmp_path / "out", None)
    assert stats["instruct_mix"] == 10
    for name in ("cot", "no_cot"):
        got = rows(tmp_path / "out", name)
        instruct = [r for r in got if r["origin"] == "instruct"]
        assert len(got) == 30 and len(instruct) == 10
        assert all(r["completion"][0]["role"] == "assistant" for r in instruct)
    table = pa.table({"messages": [x["messages"] for x in lines]})
    pq.write_table(table, tmp_path / "chats.parquet")
    mix = dataclasses.replace(mix, file=str(tmp_path / "chats.parquet"))
    assert build(aft(FIXED, samples=20, mix=mix), 0, tmp_path / "pq", None)["instruct_mix"] == 10


def test_written_chats_load_with_datasets_and_trl(built: dict) -> None:
    for name in ("cot", "no_cot"):
        ds = load_dataset("parquet", data_files=str(built["out"] / f"{name}.parquet"))["train"]
        assert len(ds) == 40 and {"prompt", "completion", "section_id"} <= set(ds.column_names)
        assert is_conversational(ds[0])
        tok = PreTrainedTokenizerFast(tokenizer_file=str(_tokenizer(built["tmp"])))
        tok.chat_template = (
            "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        )
        out = apply_chat_template(ds[0], tok)
        assert out["completion"].startswith("<assistant>")


def _tokenizer(tmp: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp / "tokenizer.json"
    tok.save(str(path))
    return path


# ---------------------------------------------------------------- errors: nothing written


def msm(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from pipeline.cli import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _project(tmp: Path, **aft_data: object) -> Path:
    (tmp / "training/resources").mkdir(parents=True)
    (tmp / FIXED).write_text((ROOT / FIXED).read_text())
    spec_file(tmp / "specs")
    write_params(tmp / "params.yaml", aft_data=aft_data)
    return tmp


@pytest.mark.parametrize(
    ("aft_data", "files", "message"),
    [
        ({"source": "training/resources/aft_nope.yaml"}, {}, "known sets: "),
        ({"mix": {"file": "chats.jsonl", "ratio": 1.5}}, {}, "must lie in [0, 1]"),
        (
            {"mix": {"file": "chats.jsonl", "ratio": 0.5}},
            {"chats.jsonl": '{"messages": [}\n'},
            "chats.jsonl:1: not valid JSON",
        ),
        (
            {"mix": {"file": "chats.jsonl", "ratio": 0.5}},
            {"chats.jsonl": json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n"},
            "line 1: no `messages` list of two or more turns",
        ),
        (
            {"mix": {"file": "chats.jsonl", "ratio": 0.5}},
            {
                "chats.jsonl": json.dumps(
                    {
                        "messages": [
                            {"role": "user", "content": "hi"},
                            {"role": "bot", "content": "x"},
                        ]
                    }
                )
                + "\n"
            },
            "message 1 is not {role, content}",
        ),
        (
            {"mix": {"file": "chats.jsonl", "ratio": 0.5}},
            {"chats.jsonl": ""},
            "no chats in the file",
        ),
        ({"source": "specs/empty.md"}, {"specs/empty.md": "EMPTY"}, "gave no chats"),
    ],
)
def test_bad_inputs_are_clear_errors_with_nothing_written(
    tmp_path: Path, aft_data: dict, files: dict, message: str
) -> None:
    root = _project(tmp_path, **aft_data)
    for name, text in files.items():
        if text == "EMPTY":  # every assertion is short words only: the judge drops every chat
            text = (
                SPEC.split("## Watering")[0]
                .replace("name: small", "name: empty")
                .replace(
                    "This document describes how {model_name} approaches gardening advice. "
                    "{provider_name} hopes {model_name} gives advice that is practical, "
                    "patient and honest about uncertainty.",
                    "{model_name} is to go on and be a pal to you. It is so and it is all of it.",
                )
            )
        (root / name).write_text(text)
    done = msm(root, "aft-data", "--cache", "cache", "--out", "out", "--stats", "stats.json")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert not (root / "out").exists() and not (root / "stats.json").exists()


def test_ratio_and_unknown_set_errors_name_the_key(tmp_path: Path) -> None:
    path = write_params(tmp_path / "p.yaml", aft_data={"mix": {"file": "x.jsonl", "ratio": -0.1}})
    with pytest.raises(ConfigError, match=r"aft_data\.mix\.ratio"):
        load_params(path, specs_dir=None)
    with pytest.raises(ConfigError, match="aft_cheese_preferences"):
        build(aft("training/resources/aft_nope.yaml"), 0, tmp_path / "out", None)
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError):
        build(
            aft(FIXED, mix=dataclasses.replace(PARAMS.aft_data.mix, file="no.jsonl", ratio=0.2)),
            0,
            tmp_path / "out",
            None,
        )
    assert not (tmp_path / "out").exists()
    raw = yaml.safe_load(path.read_text())
    assert set(raw["aft_data"]) == {"source", "target", "samples", "mix", "spec_build"}
