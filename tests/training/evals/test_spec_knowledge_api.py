"""A spec-knowledge set built through the real anthropic SDK against the local protocol server
(`fakes.localserver`, answered by `fakes.standin.LocalModel`): the pairs are those the offline
answerer builds, the metrics name the backend and model, a re-run buys nothing, and the spending
cap stops a build that would pass it (exit 3, nothing scored)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_spec_knowledge_eval import NOVEL, _ctx

from fakes.localserver import LocalAPIServer
from fakes.standin import LocalModel
from llm.settings import LLMSettings
from pipeline.config.run import Price, RunConfig
from pipeline.errors import Incomplete
from training.evaluate import evaluate

KEY = "sk-ant-sk-test-7f21-DO-NOT-LEAK"
MODEL = "claude-local-20250101"
FAST = LLMSettings(
    concurrency=4,
    timeout_s=2.5,
    connect_timeout_s=2.5,
    max_retries=3,
    backoff_s=0.01,
    backoff_max_s=0.05,
    batch_purposes=[],
    batch_poll_s=0.05,
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalAPIServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    with LocalAPIServer(api_key=KEY, responder=LocalModel(), model_id=MODEL) as srv:
        yield srv


def _rows(path: Path) -> set[tuple[str, str, str]]:
    rows = pq.read_table(path / "metrics/spec_knowledge.parquet").to_pylist()
    return {(r["section"], r["consistent"], r["inconsistent"]) for r in rows}


def test_a_set_built_through_the_anthropic_api(
    server: LocalAPIServer, tiny_arms: dict[str, Path], tmp_path: Path
) -> None:
    spec_file = tmp_path / "novel.md"
    spec_file.write_text(NOVEL)
    rc = RunConfig(
        prices={"anthropic": {MODEL: Price(3.0, 15.0, 0.5)}},
        llm=dataclasses.replace(FAST, anthropic_base_url=server.url),
    )
    api = dataclasses.replace(
        _ctx(tiny_arms, tmp_path / "api", spec_file, arms=["base"], max_pairs=0,
             backend="anthropic", model=MODEL, max_spend_usd=1.0),
        run_config=rc,
    )  # fmt: skip
    evaluate(api)
    s = json.loads((tmp_path / "api/metrics/spec_knowledge.json").read_text())["set"]
    assert (s["source"], s["backend"], s["model"]) == ("built", "anthropic", MODEL)
    assert s["assertions"] == 7 and s["pairs"] == 6 and s["dropped"] == {"no_pair": 1}
    offline = _ctx(tiny_arms, tmp_path / "offline", spec_file, arms=["base"], max_pairs=0)
    evaluate(offline)
    assert _rows(tmp_path / "api") == _rows(tmp_path / "offline")
    # a re-run is answered from the cache: the server gets no new request
    asked = len(server.requests)
    evaluate(api)
    assert len(server.requests) == asked

    capped = dataclasses.replace(
        api,
        cache=tmp_path / "capped-cache",
        params=dataclasses.replace(
            api.params,
            spec_knowledge=dataclasses.replace(api.params.spec_knowledge, max_spend_usd=0.0),
        ),
    )
    with pytest.raises(Incomplete, match=r"spend_cap.*re-run to ask for the rest"):
        evaluate(capped)
