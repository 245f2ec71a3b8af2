"""The generation engine through the real anthropic and openai SDKs against a local server.

The server (fakes.localserver) speaks the Messages, Message Batches and chat
completions protocols on 127.0.0.1 and answers with `LocalModel`, a deterministic stand-in that
follows our prompt formats; faults are injected at the HTTP level.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from testprofile import section

from fakes.localserver import Fault, LocalAPIServer
from fakes.standin import LocalModel
from llm.cache import RequestCache
from llm.errors import BackendError
from llm.settings import LLMSettings
from pipeline.cli import EXIT_CODES
from pipeline.config.params import GenerateParams
from pipeline.config.run import Price, RunConfig
from pipeline.errors import ConfigError, Incomplete
from pipeline.generate.stage import GenerationStopped, generate
from pipeline.record import read_documents
from pipeline.spec.parse import load_spec

KEY = "sk-ant-test-5b1e0c-DO-NOT-LEAK"
MODEL = "claude-local-20250101"
PRICE = Price(3.0, 15.0, 0.5)
GP = section(
    "generate",
    backend="anthropic",
    model=MODEL,
    doc_types_per_section=2,
    ideas_per_doc_type=2,
    max_tokens=400,
    plan_max_tokens=300,
)
FAST = LLMSettings(
    concurrency=8,
    timeout_s=2.5,
    connect_timeout_s=2.5,
    max_retries=6,
    backoff_s=0.01,
    backoff_max_s=0.05,
    batch_purposes=[],
    batch_poll_s=0.05,
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalAPIServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), batch_processing_s=0.1, model_id=MODEL
    ) as srv:
        yield srv


def run_config(server: LocalAPIServer, **settings: object) -> RunConfig:
    gs = dataclasses.replace(FAST, anthropic_base_url=server.url, **settings)
    return RunConfig(prices={"anthropic": {MODEL: PRICE}}, llm=gs)


def run(
    spec: Path, work: Path, rc: RunConfig, gp: GenerateParams = GP, cache: Path | None = None
) -> dict:
    stats, info = generate(
        load_spec(spec), gp, 0, work / "plan.json", cache or work / "cache", work / "out", rc
    )
    return {
        "stats": stats,
        "info": info,
        "rows": read_documents(work / "out" / "documents.parquet").to_pylist(),
        "parquet": (work / "out" / "documents.parquet").read_bytes(),
        "failures": json.loads((work / "out" / "failures.json").read_text()),
    }


def test_messages_path_writes_the_corpus_and_a_rerun_buys_nothing(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    first = run(spec, tmp_path / "a", rc)
    stats = first["stats"]
    assert stats["documents"] == len(first["rows"]) == 4 * 2 * 2
    assert stats["failures"] == {} and first["failures"] == []
    cost = stats["cost"]
    assert cost["requests"] == 4 + 4 * 2 + 16 == first["info"]["new"]
    assert cost["usd"] == pytest.approx(first["info"]["new_usd"]) and cost["usd"] > 0
    expected = (cost["input_tokens"] * 3 + cost["output_tokens"] * 15) / 1e6
    assert cost["usd"] == pytest.approx(expected, rel=1e-6)  # no caching: prefixes are short
    for row in first["rows"]:
        assert row["model"] == MODEL and row["backend"] == "anthropic"
        assert row["text"].startswith("Document ") and "<content>" not in row["text"]
        assert row["input_tokens"] > 0 and row["output_tokens"] > 0
    assert all(n == 1 for n in server.completed_counts().values())
    sent = len(server.requests)
    again = run(spec, tmp_path / "a", rc)
    assert len(server.requests) == sent  # everything from the cache
    assert again["parquet"] == first["parquet"] and again["stats"] == stats


def test_transient_faults_are_retried_and_change_nothing(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    clean = run(spec, tmp_path / "clean", rc)
    server.faults.push(
        Fault("429"),
        Fault("529"),
        Fault("500"),
        Fault("503"),
        Fault("timeout", hold_s=5.0),
        Fault("malformed_json"),
        Fault("disconnect"),
    )
    faulty = run(spec, tmp_path / "faulty", rc)
    outcomes = server.outcome_counts()
    for outcome in ("429", "529", "500", "503", "timeout", "malformed_json", "disconnect"):
        assert outcomes[outcome] >= 1, outcomes
    assert faulty["parquet"] == clean["parquet"]
    assert faulty["stats"] == clean["stats"]


def test_persistent_overload_stops_cleanly_and_a_rerun_finishes(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server, max_retries=2)
    server.faults.when(lambda body: "Write one" in json.dumps(body), Fault("529"), times=None)
    with pytest.raises(GenerationStopped, match="failed after every retry") as err:
        run(spec, tmp_path / "w", rc)
    assert dict(EXIT_CODES)[Incomplete] == 3 and isinstance(err.value, Incomplete)
    assert "http_529" in str(err.value)
    assert not (tmp_path / "w" / "out").exists() and not (tmp_path / "w" / "plan.json").exists()
    planned = len(RequestCache(tmp_path / "w" / "cache"))
    assert planned == 4 + 8  # doc types and ideas were bought and kept
    server.faults.clear()
    done = run(spec, tmp_path / "w", rc)
    assert done["stats"]["documents"] == 16


def test_unusable_answers_are_retried_then_counted(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    server.responder = LocalModel(unusable={"document"})
    rc = run_config(server)
    retried = run(spec, tmp_path / "retried", rc)
    assert retried["stats"]["documents"] == 16 and retried["stats"]["failures"] == {}
    assert retried["stats"]["cost"]["by_level"]["document"]["requests"] == 32
    server.responder = LocalModel(unusable={"document"})
    once = run(spec, tmp_path / "once", rc, dataclasses.replace(GP, max_attempts=1))
    assert once["stats"]["documents"] == 0
    assert once["stats"]["failures"] == {"document/no_content": 16}
    assert {f["reason"] for f in once["failures"]} == {"no_content"}
    assert once["stats"]["coverage"]["sections_without_documents"]


def test_short_lists_are_topped_up(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    server.responder = LocalModel(list_size=1)
    rc = run_config(server)
    gp = dataclasses.replace(GP, doc_types_per_section=3, ideas_per_doc_type=1, max_topups=2)
    full = run(spec, tmp_path / "full", rc, gp)
    plan = json.loads((tmp_path / "full" / "plan.json").read_text())
    assert all(len(types) == 3 for types in plan["doc_types"].values())
    assert full["stats"]["cost"]["by_level"]["doc_types"]["requests"] == 4 * 3
    assert full["stats"]["coverage"]["sections_short_of_doc_types"] == 0
    topups = [r.body for r in server.requests if "These already exist" in json.dumps(r.body)]
    assert len(topups) == 4 * 2
    short = run(spec, tmp_path / "short", rc, dataclasses.replace(gp, max_topups=0))
    assert short["stats"]["coverage"]["sections_short_of_doc_types"] == 4
    coverage = json.loads((tmp_path / "short" / "out" / "coverage.json").read_text())
    assert all(len(t) == 1 for t in coverage["doc_types_per_section"].values())
    assert short["stats"]["documents"] == 4


def test_batches_collect_every_document_at_half_price(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    direct = run(spec, tmp_path / "direct", run_config(server))
    batched = run(spec, tmp_path / "batched", run_config(server, batch_purposes=["document"]))
    (batch,) = server.batches_created
    assert len(batch.custom_ids) == 16
    assert set(batch.custom_ids) == {r["request_hash"] for r in batched["rows"]}
    assert [r["text"] for r in batched["rows"]] == [r["text"] for r in direct["rows"]]
    by_level = batched["stats"]["cost"]["by_level"]
    assert by_level["document"]["usd"] == pytest.approx(
        direct["stats"]["cost"]["by_level"]["document"]["usd"] / 2, abs=2e-6
    )
    assert by_level["ideas"] == direct["stats"]["cost"]["by_level"]["ideas"]


def test_batch_errors_and_expiry_fail_only_those_requests(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server, batch_purposes=["document"])
    clean = run(spec, tmp_path / "clean", rc)
    keys = [r["request_hash"] for r in clean["rows"]]
    server.faults.error_batch_requests(keys[0], error_type="overloaded_error")
    server.faults.expire_batch_requests(keys[1])
    with pytest.raises(GenerationStopped, match=r"1 batch_errored, 1 batch_expired"):
        run(spec, tmp_path / "w", rc)
    server.faults.clear()
    done = run(spec, tmp_path / "w", rc)
    assert done["parquet"] == clean["parquet"]
    resubmitted = server.batches_created[-1]
    assert sorted(resubmitted.custom_ids) == sorted(keys[:2])


def test_spending_cap_stops_before_it_is_exceeded(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    total = run(spec, tmp_path / "free", rc)["stats"]["cost"]["usd"]
    cap = 0.05
    assert total > cap
    server.reset_accounting()
    with pytest.raises(GenerationStopped, match="spending cap") as err:
        run(spec, tmp_path / "w", rc, dataclasses.replace(GP, max_spend_usd=cap))
    assert "generate.max_spend_usd" in str(err.value)
    cache = RequestCache(tmp_path / "w" / "cache")
    spent = sum(r.cost_usd for r in cache.responses())
    assert 0 < spent <= cap
    assert not (tmp_path / "w" / "out").exists()
    raised = run(spec, tmp_path / "w", rc, dataclasses.replace(GP, max_spend_usd=1.0))
    assert raised["stats"]["documents"] == 16
    assert set(server.completed_counts().values()) == {1}  # nothing bought twice


def test_prompt_caching_marks_the_shared_prefix(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    server.cache_min_tokens = 50
    rc = run_config(server, prompt_cache_min_tokens=50)
    result = run(spec, tmp_path / "w", rc)
    cost = result["stats"]["cost"]
    assert cost["cache_write_tokens"] > 0 and cost["cache_read_tokens"] > 0
    systems = [r.body["system"] for r in server.requests]
    assert all(s[0]["cache_control"] == {"type": "ephemeral"} for s in systems)


def test_bad_credentials_stop_at_once_without_leaking_the_key(
    server: LocalAPIServer,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-wrong-key-abc")
    with pytest.raises(BackendError, match="401") as err:
        run(write_spec(), tmp_path / "w", run_config(server))
    assert "sk-wrong-key-abc" not in str(err.value) and KEY not in str(err.value)
    assert len(server.requests) <= FAST.concurrency


def test_missing_key_alias_model_and_price_are_clear_errors(
    server: LocalAPIServer,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = write_spec()
    rc = run_config(server)
    with pytest.raises(BackendError, match="not a dated model id"):
        run(spec, tmp_path / "a", rc, dataclasses.replace(GP, model="claude-sonnet-latest"))
    with pytest.raises(ConfigError, match="no price for anthropic/"):
        run(spec, tmp_path / "b", RunConfig(llm=rc.llm))
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(BackendError, match="ANTHROPIC_API_KEY"):
        run(spec, tmp_path / "c", rc)
    assert server.requests == []


def test_openai_backend(
    server: LocalAPIServer,
    write_spec: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    spec = write_spec()
    gs = dataclasses.replace(FAST, openai_base_url=server.openai_url)
    rc = RunConfig(llm=gs)
    gp = dataclasses.replace(GP, backend="openai", model="served-model")
    server.faults.push(Fault("429"), Fault("500"), Fault("malformed_json"), Fault("disconnect"))
    result = run(spec, tmp_path / "w", rc, gp)
    assert result["stats"]["documents"] == 16 and result["stats"]["cost"]["usd"] == 0.0
    assert {r.api for r in server.requests} == {"openai"}
    seeds = {r.body["seed"] for r in server.requests if r.outcome == "ok"}
    assert len(seeds) == result["stats"]["cost"]["requests"]  # one seed per request key
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    with pytest.raises(BackendError, match="401"):
        run(spec, tmp_path / "x", rc, gp)


def test_one_sentence_edit_reissues_only_that_sections_requests(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    cache = tmp_path / "cache"
    before = run(spec, tmp_path / "before", rc, cache=cache)
    edited = tmp_path / "edited" / "small.md"
    edited.parent.mkdir()
    old = "because the plant is dormant then."
    edited.write_text(spec.read_text().replace(old, "because the plant is resting then."))
    server.reset_accounting()
    after = run(edited, tmp_path / "after", rc, cache=cache)
    sent = server.requests
    assert len(sent) == 1 + 2 + 4  # the section's doc types, ideas and documents
    assert all("resting then" in r.body["system"] for r in sent)
    unchanged = [r for r in before["rows"] if r["section_id"] != "pruning"]
    assert [r for r in after["rows"] if r["section_id"] != "pruning"] == unchanged


def test_critique_and_revise_replaces_the_draft(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    drafts = run(spec, tmp_path / "drafts", rc)
    revised = run(spec, tmp_path / "revised", rc, dataclasses.replace(GP, revise=True))
    by_level = revised["stats"]["cost"]["by_level"]
    assert by_level["revise"]["requests"] == 16
    assert [r["id"] for r in revised["rows"]] == [r["id"] for r in drafts["rows"]]
    for draft, final in zip(drafts["rows"], revised["rows"], strict=True):
        assert final["text"] != draft["text"]
        assert final["request_hash"] != draft["request_hash"]
        assert final["output_tokens"] > draft["output_tokens"]  # draft and revision both count
    revise_prompts = [r.body for r in server.requests if "Here is a draft" in json.dumps(r.body)]
    assert len(revise_prompts) == 16


def test_large_levels_go_out_as_several_batches(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    one = run(spec, tmp_path / "one", run_config(server, batch_purposes=["document"]))
    server.reset_accounting()
    rc = run_config(server, batch_purposes=["document"], batch_max_requests=5)
    many = run(spec, tmp_path / "many", rc)
    assert [len(b.custom_ids) for b in server.batches_created] == [5, 5, 5, 1]
    assert set(server.batch_custom_id_counts().values()) == {1}
    assert many["parquet"] == one["parquet"]


def test_an_answer_without_content_blocks_is_paid_for_and_retried(
    server: LocalAPIServer, write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    spec = write_spec()
    rc = run_config(server)
    clean = run(spec, tmp_path / "clean", rc)
    server.faults.when(lambda body: "Write one" in json.dumps(body), Fault("missing_content"))
    retried = run(spec, tmp_path / "retried", rc)
    assert server.outcome_counts()["missing_content"] == 1
    assert retried["stats"]["failures"] == {}
    assert retried["stats"]["cost"]["by_level"]["document"]["requests"] == 17  # one retry
    assert [r["text"] for r in retried["rows"]] == [r["text"] for r in clean["rows"]]
