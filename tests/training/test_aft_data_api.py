"""An AFT spec build through the real anthropic SDK against the local protocol server: injected
faults are retried and change nothing; a persistent fault stops the build with nothing written,
and the re-run buys only what is missing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_aft_data import aft, spec_file
from testprofile import PARAMS

from fakes.aft_standin import aft_model
from fakes.localserver import Fault, LocalAPIServer
from llm.cache import RequestCache
from llm.settings import LLMSettings
from pipeline.config.run import Price, RunConfig
from pipeline.errors import Incomplete
from training.aft_data import build

KEY = "sk-ant-aft-test-3c9d-DO-NOT-LEAK"
MODEL = "claude-local-20250101"
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
SPEC_BUILD = {
    "backend": "anthropic",
    "model": MODEL,
    "domains_per_section": 1,
    "questions_per_kind": 2,
    "kinds": ["direct", "opinion"],
    "max_rounds": 2,
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalAPIServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    with LocalAPIServer(api_key=KEY, responder=aft_model, model_id=MODEL) as srv:
        yield srv


def run(
    server: LocalAPIServer,
    spec: Path,
    work: Path,
    max_spend_usd: float = 10.0,
    **settings: object,
) -> dict:
    rc = RunConfig(
        prices={"anthropic": {MODEL: Price(3.0, 15.0, 0.5)}},
        llm=dataclasses.replace(FAST, anthropic_base_url=server.url, **settings),
    )
    sp = {**SPEC_BUILD, "max_spend_usd": max_spend_usd}
    params = aft(spec, target=24, samples=20, spec_build=sp)
    stats = build(params, 0, work / "out", work / "cache", rc)
    return {
        "stats": stats,
        "cot": (work / "out" / "cot.parquet").read_bytes(),
        "no_cot": (work / "out" / "no_cot.parquet").read_bytes(),
    }


def test_faults_are_retried_and_the_dataset_is_the_same(
    server: LocalAPIServer, tmp_path: Path
) -> None:
    spec = spec_file(tmp_path / "specs")
    clean = run(server, spec, tmp_path / "clean")
    assert clean["stats"]["written"] == 20 and clean["stats"]["cost"]["usd"] > 0
    assert clean["stats"]["model"] == MODEL and clean["stats"]["backend"] == "anthropic"
    server.faults.push(
        Fault("429"),
        Fault("529"),
        Fault("500"),
        Fault("timeout", hold_s=5.0),
        Fault("malformed_json"),
        Fault("disconnect"),
    )
    faulty = run(server, spec, tmp_path / "faulty")
    outcomes = server.outcome_counts()
    for outcome in ("429", "529", "500", "timeout", "malformed_json", "disconnect"):
        assert outcomes[outcome] >= 1, outcomes
    assert faulty["cot"] == clean["cot"] and faulty["no_cot"] == clean["no_cot"]
    assert faulty["stats"] == clean["stats"]


def test_persistent_overload_stops_with_nothing_written_and_a_rerun_finishes(
    server: LocalAPIServer, tmp_path: Path
) -> None:
    spec = spec_file(tmp_path / "specs")
    clean = run(server, spec, tmp_path / "clean")
    sent = len(server.requests)
    server.faults.when(lambda body: "The user asked:" in json.dumps(body), Fault("529"), times=None)
    with pytest.raises(Incomplete, match="judge level") as err:
        run(server, spec, tmp_path / "w", max_retries=1)
    assert "http_529" in str(err.value)
    assert not (tmp_path / "w" / "out").exists()
    server.faults.clear()
    before = len(server.requests)
    done = run(server, spec, tmp_path / "w")
    assert done["cot"] == clean["cot"]
    # the re-run asked only for the judge calls (and what followed them), not the earlier levels
    assert len(server.requests) - before < sent
    assert PARAMS.aft_data.spec_build.backend == "offline"  # the profile itself is untouched


def test_spending_cap_stops_with_nothing_written_and_says_how_to_continue(
    server: LocalAPIServer, tmp_path: Path
) -> None:
    spec = spec_file(tmp_path / "specs")
    clean = run(server, spec, tmp_path / "clean")
    total = clean["stats"]["cost"]["usd"]
    server.reset_accounting()
    cap = round(total / 3, 6)
    with pytest.raises(Incomplete) as err:
        run(server, spec, tmp_path / "w", max_spend_usd=cap)
    message = str(err.value)
    assert "aft_data.spec_build.max_spend_usd" in message and "run again" in message
    assert "msm aft-data --preview" in message
    assert not (tmp_path / "w" / "out").exists()
    spent = sum(r.cost_usd for r in RequestCache(tmp_path / "w" / "cache").responses())
    assert 0 < spent <= cap
    done = run(server, spec, tmp_path / "w", max_spend_usd=10.0)
    assert done["cot"] == clean["cot"] and done["no_cot"] == clean["no_cot"]
    assert set(server.completed_counts().values()) == {1}  # nothing bought twice
    assert done["stats"]["cost"]["usd"] == pytest.approx(total, abs=1e-6)


def test_batches_give_the_direct_path_dataset_at_half_price(
    server: LocalAPIServer, tmp_path: Path
) -> None:
    spec = spec_file(tmp_path / "specs")
    direct = run(server, spec, tmp_path / "direct")
    assert not server.batches_created
    batched = run(server, spec, tmp_path / "batched", batch_purposes=["aft/response", "aft/judge"])
    assert server.batches_created
    sent = {c for b in server.batches_created for c in b.custom_ids}
    rows = pq.read_table(tmp_path / "batched" / "out" / "cot.parquet").to_pylist()
    assert {r["request_hash"] for r in rows} <= sent  # every response came through a batch
    assert batched["cot"] == direct["cot"] and batched["no_cot"] == direct["no_cot"]
    levels, plain = batched["stats"]["cost"]["by_level"], direct["stats"]["cost"]["by_level"]
    for level in ("aft/response", "aft/judge"):
        assert levels[level]["usd"] == pytest.approx(plain[level]["usd"] / 2, abs=2e-6)
    assert levels["aft/questions"] == plain["aft/questions"]
