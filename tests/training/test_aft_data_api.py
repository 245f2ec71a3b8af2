"""An AFT spec build through the real anthropic SDK against the local protocol server: injected
faults are retried and change nothing; a persistent fault stops the build with nothing written,
and the re-run buys only what is missing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_aft_data import aft, spec_file
from testprofile import PARAMS

from fakes.aft_standin import aft_model
from fakes.localserver import Fault, LocalAPIServer
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


def run(server: LocalAPIServer, spec: Path, work: Path, **settings: object) -> dict:
    rc = RunConfig(
        prices={"anthropic": {MODEL: Price(3.0, 15.0, 0.5)}},
        llm=dataclasses.replace(FAST, anthropic_base_url=server.url, **settings),
    )
    params = aft(spec, target=24, samples=20, spec_build=SPEC_BUILD)
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
