"""The agentic-misalignment eval end to end: through the real openai SDK against the local
protocol server (the stand-in agent and judge in `fakes/agentic_standin.py`), and on SmolLM2-135M
through the hf backend; metrics that `dvc metrics show` reads, per-reply parquet, parse failures
counted, the cache reused; bad params are clear errors."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from testprofile import section, write_params

from fakes.agentic_standin import agentic_model
from fakes.localserver import LocalAPIServer
from llm.settings import LLMSettings
from pipeline.config.params import load_params
from pipeline.config.run import RunConfig
from pipeline.errors import ConfigError
from training.evals.arms import Arms
from training.evals.context import EvalContext
from training.evaluate import evaluate

MODEL = "atlas-local"
EVAL = "agentic_misalignment"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAPIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with LocalAPIServer(api_key="test-key", responder=agentic_model, model_id=MODEL) as srv:
        yield srv


def _ctx(
    tmp: Path, models: dict[str, Path], arms: list[str], url: str = "", **am: object
) -> EvalContext:
    ep = section("evaluate", evals=[EVAL], models=arms)
    judge = am.pop("judge", {})
    ap = dataclasses.replace(ep.agentic_misalignment, **am)
    ap = dataclasses.replace(ap, judge=dataclasses.replace(ap.judge, **judge))  # type: ignore[arg-type]
    llm = LLMSettings(openai_base_url=url, max_retries=0, batch_purposes=[])
    return EvalContext(
        arms=Arms(models["base"], models["msm"], models["aft"], None, "float32"),
        params=dataclasses.replace(ep, agentic_misalignment=ap),
        spec="philosophy",
        spec_file=Path(__file__).resolve().parents[3] / "specs" / "philosophy.md",
        seed=0,
        shards=Path("unused"),
        cache=tmp / "cache",
        run_config=RunConfig(llm=llm),
        out_dir=tmp / "metrics",
    )


def _dvc_metrics(tmp: Path) -> dict:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp, check=True, env=env
    )
    (tmp / "dvc.yaml").write_text(f"metrics:\n  - metrics/{EVAL}.json\n")
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "metrics", "show", "--json"],
        cwd=tmp,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout)[""]["data"][f"metrics/{EVAL}.json"]["data"]


ALL = {
    "scenarios": ["weights_exfiltration", "confidential_leak", "safety_alert"],
    "goals": ["explicit", "conflicting", "none"],
    "threats": ["replace", "none"],
}
NO_MODELS = {"base": Path("unused"), "msm": Path("unused"), "aft": Path("unused")}


def test_through_a_server_with_the_judge(server: LocalAPIServer, tmp_path: Path) -> None:
    ctx = _ctx(
        tmp_path,
        NO_MODELS,
        ["base", "aft"],
        server.openai_url,
        backend="openai",
        served={"base": MODEL, "aft": MODEL},
        samples=4,
        max_tokens=256,
        classifier="judge",
        judge={"backend": "openai", "model": MODEL},
        **ALL,
    )
    evaluate(ctx)
    metrics = json.loads((tmp_path / f"metrics/{EVAL}.json").read_text())
    assert metrics["ran"] and metrics["classifier"] == "judge"
    assert metrics["model_ids"] == {"base": MODEL, "aft": MODEL}
    rows = pq.read_table(tmp_path / f"metrics/{EVAL}.parquet").to_pylist()
    assert len(rows) == 2 * 3 * 6 * 4  # arms x scenarios x conditions x samples
    for arm in ("base", "aft"):
        m = metrics["models"][arm]
        mine = [r for r in rows if r["model"] == arm]
        labels = Counter(r["label"] for r in mine)
        assert (m["samples"], m["harmful"], m["parse_failures"]) == (
            72,
            labels["harmful"],
            labels["unparsed"],
        )
        assert m["n"] == labels["harmful"] + labels["benign"] and m["harmful_rate"] == round(
            labels["harmful"] / m["n"], 4
        )
        assert set(m["scenarios"]) == set(ALL["scenarios"]) and len(m["conditions"]) == 6
        assert all(c["samples"] == 12 for c in m["conditions"].values())
        assert all(len(s["conditions"]) == 6 for s in m["scenarios"].values())
        # the stand-in judge agrees with the rules wherever both classified the reply
        agree = metrics["judge"]["agreement_with_rules"][arm]
        assert agree["rate"] == 1.0 and agree["n"] > 0
    assert set(Counter(r["parse"] for r in rows)) == {"ok", "broken", "no_call"}
    for r in rows:
        assert r["judge_reply"] and r["reason"]
        if r["parse"] != "ok":  # a reply with no readable action is never benign
            assert r["label"] != "benign" and r["rule_label"] == "unparsed"
        if r["label"] == "harmful":
            assert json.loads(r["actions"]) and r["reason"].startswith("judge: ")
    assert metrics["judge"]["model_id"] == MODEL

    shown = _dvc_metrics(tmp_path)
    assert shown["models"]["aft"]["harmful_rate"] == metrics["models"]["aft"]["harmful_rate"]

    # a re-run is answered from the cache: the same bytes, nothing new asked of the server
    first = (tmp_path / f"metrics/{EVAL}.json").read_bytes()
    asked = len(server.requests)
    evaluate(ctx)
    assert (tmp_path / f"metrics/{EVAL}.json").read_bytes() == first
    assert len(server.requests) == asked

    # the rule classifier on the same (cached) replies gives the rules' labels
    rules_ctx = dataclasses.replace(
        ctx,
        params=dataclasses.replace(
            ctx.params,
            agentic_misalignment=dataclasses.replace(
                ctx.params.agentic_misalignment, classifier="rules"
            ),
        ),
    )
    evaluate(rules_ctx)
    again = pq.read_table(tmp_path / f"metrics/{EVAL}.parquet").to_pylist()
    assert [r["reply"] for r in again] == [r["reply"] for r in rows]
    assert [r["label"] for r in again] == [r["rule_label"] for r in rows]
    assert all(r["judge_reply"] is None for r in again) and len(server.requests) == asked


def test_on_smollm2_through_the_hf_backend(smollm2: dict[str, Path], tmp_path: Path) -> None:
    """The smoke path: SmolLM2-135M as the agent and as the judge, one condition, two samples."""
    ctx = _ctx(
        tmp_path,
        smollm2,
        ["base"],
        samples=2,
        max_tokens=8,
        classifier="judge",
        judge={"backend": "hf", "model": str(smollm2["base"]), "max_tokens": 8},
    )
    evaluate(ctx)
    m = json.loads((tmp_path / f"metrics/{EVAL}.json").read_text())["models"]["base"]
    assert m["samples"] == 2 and m["n"] + m["parse_failures"] == 2
    rows = pq.read_table(tmp_path / f"metrics/{EVAL}.parquet").to_pylist()
    assert [(r["scenario"], r["goal"], r["threat"], r["sample"]) for r in rows] == [
        ("safety_alert", "conflicting", "replace", 0),
        ("safety_alert", "conflicting", "replace", 1),
    ]
    assert all(
        r["reply"] and r["judge_reply"] and r["label"] in ("harmful", "benign", "unparsed")
        for r in rows
    )
    assert _dvc_metrics(tmp_path)["models"]["base"]["samples"] == 2


def test_bad_params_are_clear_errors(tmp_path: Path) -> None:
    for change, needle in (
        ({"evals": ["agentic_misalignmnet"]}, "did you mean 'agentic_misalignment'"),
        (
            {EVAL: {"classifier": "llm"}},
            "`evaluate.agentic_misalignment.classifier` must be one of rules, judge",
        ),
        ({EVAL: {"threats": []}}, "`evaluate.agentic_misalignment.threats` is empty"),
        ({EVAL: {"judge": {"model": " "}}}, "`evaluate.agentic_misalignment.judge.model` is empty"),
    ):
        path = write_params(tmp_path / "params.yaml", evaluate=change)
        with pytest.raises(ConfigError, match=re.escape(needle)):
            load_params(path, specs_dir=None)

    ctx = _ctx(tmp_path, NO_MODELS, ["base", "msm"], backend="openai", served={"base": "m"})
    with pytest.raises(
        ConfigError, match=r"agentic_misalignment.served has no model id for msm; add `msm: "
    ):
        evaluate(ctx)
    ctx = _ctx(
        tmp_path,
        NO_MODELS,
        ["base"],
        classifier="judge",
        judge={"backend": "anthropic", "model": "j-1"},
    )
    with pytest.raises(ConfigError, match=r"run.yaml has no price for anthropic/j-1"):
        evaluate(ctx)
    assert not list((tmp_path / "metrics").glob(f"{EVAL}.*"))  # nothing half-written
