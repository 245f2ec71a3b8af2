"""`msm spec plan --preview` and run.yaml: counts match what generate writes; cost arithmetic."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from testprofile import section, write_params

from pipeline.config.run import Price, RunConfig, load_run_config
from pipeline.errors import ConfigError
from pipeline.generate.preview import CHARS_PER_TOKEN, preview
from pipeline.generate.stage import generate
from pipeline.spec.parse import load_spec

ROOT = Path(__file__).resolve().parents[2]
GP = section("generate", doc_types_per_section=3, ideas_per_doc_type=2, docs_per_idea=2)

CLI = Callable[..., subprocess.CompletedProcess]


@pytest.mark.parametrize("name", ["rules", "cheese_america", "general"])
def test_projected_documents_equal_what_generate_writes(name: str, tmp_path: Path) -> None:
    spec = load_spec(ROOT / "specs" / f"{name}.md")
    p = preview(spec, GP, 0, RunConfig())
    stats, _ = generate(spec, GP, 0, tmp_path / "plan.json", tmp_path / "c", tmp_path / "o")
    assert p.documents == stats["documents"]
    assert p.documents == p.sections * 3 * 2 * 2
    assert p.assertions == stats["assertions"]
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert plan["projected_documents"] == p.documents


def test_cost_arithmetic() -> None:
    spec = load_spec(ROOT / "specs" / "rules.md")
    run = RunConfig(
        expected_output_tokens=1000,
        prices={"anthropic": {"m-20250101": Price(2.0, 10.0, 0.5)}},
    )
    p = preview(spec, GP, 0, run)
    levels = {lvl.name: lvl for lvl in p.levels}
    assert set(levels) == {"doc_types", "ideas", "document"}
    assert levels["doc_types"].requests == p.sections
    assert levels["ideas"].requests == p.sections * 3
    assert levels["document"].requests == p.documents
    assert levels["document"].output_tokens == p.documents * 1000
    assert levels["document"].input_tokens > p.documents * 100  # prompts carry the section
    (backend, model, usd, batch) = p.costs[-1]
    assert (backend, model) == ("anthropic", "m-20250101")
    assert usd == pytest.approx((p.input_tokens * 2.0 + p.output_tokens * 10.0) / 1e6)
    doc = levels["document"]
    doc_usd = (doc.input_tokens * 2.0 + doc.output_tokens * 10.0) / 1e6
    assert batch == pytest.approx(usd - doc_usd / 2)  # default batch_purposes: document, revise
    revised = preview(spec, section("generate", revise=True), 0, run)
    assert {lvl.name: lvl.requests for lvl in revised.levels}["revise"] == revised.documents
    assert p.costs[0][:2] == ("offline", GP.model) and p.costs[0][2] == 0.0


def test_input_estimate_is_prompt_chars_over_four() -> None:
    spec = load_spec(ROOT / "specs" / "general.md")
    gp = section("generate", doc_types_per_section=1, ideas_per_doc_type=1)
    p = preview(spec, gp, 0, RunConfig())
    assert p.documents == 1
    assert 100 < p.input_tokens * CHARS_PER_TOKEN < 20_000


def test_run_config_defaults_without_file(tmp_path: Path) -> None:
    assert load_run_config(tmp_path / "absent.yaml") == RunConfig()


def test_repository_run_config_loads() -> None:
    run = load_run_config(ROOT / "run.yaml")
    assert run.prices["anthropic"]
    assert all(p.batch_discount == 0.5 for p in run.prices["anthropic"].values())


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("expected_output_token: 10\n", "unknown key `expected_output_token`"),
        ("expected_output_tokens: -1\n", "positive integer"),
        (
            "prices: {anthropic: {m: {input_per_mtok: 1}}}\n",
            "missing key `prices.anthropic.m.output_per_mtok`",
        ),
        ("prices: {anthropic: {m: {input_per_mtok: -1, output_per_mtok: 1}}}\n", ">= 0"),
        ("prices: {anthropic: {m: {input: 1, output_per_mtok: 1}}}\n", "unknown key"),
        (
            "prices: {anthropic: {m: {input_per_mtok: 1, output_per_mtok: 1, "
            "batch_discount: 2}}}\n",
            "fraction",
        ),
        ("prices: [1, 2]\n", "must be a mapping"),
    ],
)
def test_run_config_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"run\.yaml") as err:
        load_run_config(path)
    assert needle in str(err.value)


def test_cli_preview(msm: CLI) -> None:
    proc = msm("spec", "plan", "rules", "--preview")
    assert proc.returncode == 0, proc.stderr
    assert (
        "projected documents: 5 sections x 6 doc types x 4 ideas x 1 per idea = 120" in proc.stdout
    )
    assert "claude-sonnet-4-5-20250929" in proc.stdout


def test_cli_plan_prints_json(msm: CLI) -> None:
    proc = msm("spec", "plan", "rules")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [s["id"] for s in plan["sections"]] == ["SP1", "SP2", "SP3", "GP1", "GP2"]


def test_cli_lint_bad_spec_exits_nonzero_with_line(msm: CLI, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(
        "---\nname: bad\ntitle: t\nkind: values\nmodel_name: M\n"
        "provider_name: P\n---\n\nHello {user_name}.\n"
    )
    proc = msm("spec", "lint", bad)
    assert proc.returncode != 0
    assert f"{bad}:9: unknown placeholder" in proc.stderr


def test_generate_on_bad_spec_writes_nothing(msm: CLI, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "bad.md").write_text("---\nname: bad\ntitle: [unclosed\n---\nbody\n")
    params = write_params(tmp_path / "params.yaml", specs=["bad"], spec="bad")
    out = tmp_path / "corpora" / "bad"
    proc = msm(
        "generate",
        "--spec",
        specs / "bad.md",
        "--params",
        params,
        "--plan",
        out / "plan.json",
        "--cache",
        out / "cache",
        "--out",
        out / "generate",
        "--stats",
        out / "stats.json",
    )
    assert proc.returncode == 2
    assert "malformed YAML front matter" in proc.stderr and "bad.md:3" in proc.stderr
    assert not out.exists()


def test_llm_drain_s_is_a_non_negative_run_setting(tmp_path: Path) -> None:
    assert load_run_config(ROOT / "run.yaml").llm.drain_s == 30.0
    path = tmp_path / "run.yaml"
    path.write_text("llm: {drain_s: 0}\n")
    assert load_run_config(path).llm.drain_s == 0.0
    path.write_text("llm: {drain_s: -1}\n")
    with pytest.raises(ConfigError, match=r"run\.yaml:1: `llm\.drain_s` must be >= 0, got -1"):
        load_run_config(path)
