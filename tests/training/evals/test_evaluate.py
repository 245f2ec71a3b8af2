"""`msm evaluate` end to end: log-prob mode on the tiny Llama (base, random MSM and AFT adapters)
writes metrics that `dvc metrics show` reads and per-item parquet beside them; SmolLM2-135M runs
a few items through its chat template, by log-probability and by sampling through the LLM layer
(hf backend, the MSM adapter merged into a folder). Bad params and bad eval files are errors
naming the file, the line, the key and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_value_generalization_logprob import by_hand
from testprofile import PARAMS, section, write_params

from llm.backends.hf import folder_model_id
from pipeline.config.params import load_params
from pipeline.config.run import RunConfig
from pipeline.errors import ConfigError, InputError
from training.evals.arms import Arms
from training.evals.context import EvalContext
from training.evals.value_generalization import items as vg_items
from training.evals.value_generalization import run as vg_run
from training.evals.value_generalization.items import Item, ItemSet, load_set, resolve
from training.evals.value_generalization.prompts import load_prompts, render
from training.evals.value_generalization.scorer import item_score
from training.evaluate import evaluate
from training.model import load_base, load_tokenizer
from training.progress import Meter

ROOT = Path(__file__).resolve().parents[3]


def _ctx(
    models: dict[str, Path], tmp: Path, arms: list[str] | None = None, **vg: object
) -> EvalContext:
    """The suite profile's `evaluate` section with `vg` changed in `value_generalization`, and
    the evals these tests are about (test_agentic_eval.py runs agentic_misalignment)."""
    evals = ["value_generalization", "heldout_loss"]
    ep = section("evaluate", val_sequences=4, evals=evals, **({"models": arms} if arms else {}))
    ep = replace(ep, value_generalization=replace(ep.value_generalization, **vg))
    return EvalContext(
        arms=Arms(models["base"], models["msm"], models["aft"], models.get("aft_only"), "float32"),
        params=ep,
        spec="rules",
        spec_file=ROOT / "specs" / "rules.md",
        seed=0,
        shards=models["shards"],
        cache=tmp / "cache",
        run_config=RunConfig(),
        out_dir=tmp / "metrics",
    )


def _dvc_metrics(tmp: Path) -> dict:
    """`dvc metrics show --json` in a fresh DVC project holding the metrics folder."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(
        [sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=tmp, check=True, env=env
    )
    (tmp / "dvc.yaml").write_text(
        "metrics:\n  - metrics/value_generalization.json\n  - metrics/spec_knowledge.json\n"
        "  - metrics/heldout_loss.json\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "metrics", "show", "--json"],
        cwd=tmp,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout)


def test_logprob_end_to_end(tiny_arms: dict[str, Path], tmp_path: Path) -> None:
    ctx = _ctx(tiny_arms, tmp_path, max_items=6)
    evaluate(ctx)
    metrics = json.loads((tmp_path / "metrics/value_generalization.json").read_text())
    assert metrics["ran"] and metrics["mode"] == "logprob"
    assert metrics["sets"]["affordability"] == {
        "version": 1,
        "value": "affordability",
        "items": 6,
        "of": 312,
    }
    assert set(metrics["models"]) == {"base", "msm", "aft"}
    for arm in ("base", "msm", "aft"):
        for name in ("affordability", "america"):
            m = metrics["models"][arm][name]
            assert m["n"] == 6 and m["parse_failures"] == 0
            assert 0.0 <= m["rate"] <= 1.0 and m["sem"] >= 0.0
            assert len(m["domains"]) == 6  # round-robin: six items, six domains
    rows = pq.read_table(tmp_path / "metrics/value_generalization.parquet").to_pylist()
    assert len(rows) == 3 * 12 * 2  # arms x items x orders
    assert {r["order"] for r in rows} == {"aligned_first", "aligned_second"}
    assert all(r["logp_aligned"] < 0 and r["logp_other"] < 0 for r in rows)
    # the adapters change the model: not every log-probability is the base model's
    base = sorted(r["logp_aligned"] for r in rows if r["model"] == "base")
    assert base != sorted(r["logp_aligned"] for r in rows if r["model"] == "aft")
    loss = json.loads((tmp_path / "metrics/heldout_loss.json").read_text())
    assert loss["sequences"] > 0 and all(v > 0 for v in loss["models"].values())

    shown = _dvc_metrics(tmp_path)[""]["data"]
    read = shown["metrics/value_generalization.json"]["data"]["models"]
    assert read["aft"]["america"]["rate"] == metrics["models"]["aft"]["america"]["rate"]
    assert shown["metrics/heldout_loss.json"]["data"]["models"] == loss["models"]

    # deterministic: a second run writes the same bytes
    first = (tmp_path / "metrics/value_generalization.json").read_bytes()
    evaluate(ctx)
    assert (tmp_path / "metrics/value_generalization.json").read_bytes() == first


def test_swapping_the_options_gives_the_same_item_score(
    tiny_arms: dict[str, Path], tmp_path: Path
) -> None:
    """The same pair written the other way round (a and b swapped, `aligned` flipped) and scored
    through the model by the eval's own path gives the same log-probability to each role in
    each order, so the same order scores and item score."""
    a, b = "the aged sharp cheddar wheel", "a mild curd"
    forward = Item(domain="food", a=a, b=b, aligned="a")
    swapped = Item(domain="food", a=b, b=a, aligned="b")
    sets = {
        name: resolve("s", ItemSet(1, "v", "d", "Which do you prefer?", [item]))[0]
        for name, item in (("forward", forward), ("swapped", swapped))
    }
    assert sets["forward"].aligned == sets["swapped"].aligned == a
    ctx, prompts = _ctx(tiny_arms, tmp_path), load_prompts()[0]
    model = load_base(tiny_arms["base"]).eval()
    rows = {}
    for name, item in sets.items():
        with Meter(name, 4, "options") as meter:
            rows[name] = vg_run._logprob_rows(
                "base", model, tiny_arms["base"], [item], prompts.choice, ctx, meter
            )
    keys = ("order", "logp_aligned", "logp_other", "choice", "score")
    assert [[r[k] for k in keys] for r in rows["forward"]] == [
        [r[k] for k in keys] for r in rows["swapped"]
    ]
    # not a degenerate model: the roles' log-probabilities differ in each order
    assert all(r["logp_aligned"] != r["logp_other"] for r in rows["forward"])
    scores = {name: item_score([r["score"] for r in rs]) for name, rs in rows.items()}
    assert scores["forward"] == scores["swapped"]


def test_generate_mode_samples_through_the_llm_layer(
    smollm2: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The msm arm (an adapter) is merged into a model folder under $MSM_WORK_DIR and sampled
    through the hf backend; its model id is not the base model's, and the merged folder is gone
    when the run ends."""
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    ctx = _ctx(smollm2, tmp_path, mode="generate", max_items=1, max_tokens=6)
    params = section(
        "evaluate",
        value_generalization=ctx.params.value_generalization,
        models=["msm"],
        evals=["value_generalization"],
    )
    ctx = EvalContext(**{**ctx.__dict__, "params": params})
    evaluate(ctx)
    metrics = json.loads((tmp_path / "metrics/value_generalization.json").read_text())
    assert metrics["mode"] == "generate" and set(metrics["model_ids"]) == {"msm"}
    assert metrics["model_ids"]["msm"] != folder_model_id(smollm2["base"])
    assert metrics["model_ids"]["msm"].startswith("msm-")  # the merged folder's name
    assert list((tmp_path / "work" / "eval-models").iterdir()) == []
    rows = pq.read_table(tmp_path / "metrics/value_generalization.parquet").to_pylist()
    assert len(rows) == 2 * 2 and all(r["reply"] for r in rows)  # items x orders
    for r in rows:  # unparseable replies are counted, never scored
        assert (r["score"] is None) == (r["choice"] == "")
    for m in metrics["models"]["msm"].values():
        assert m["n"] + m["parse_failures"] == 1
    assert json.loads((tmp_path / "metrics/heldout_loss.json").read_text())["ran"] is False
    # a second run is answered from the request cache: same replies, no new cache segment
    segments = sorted(p.name for p in (tmp_path / "cache").iterdir())
    evaluate(ctx)
    again = pq.read_table(tmp_path / "metrics/value_generalization.parquet").to_pylist()
    assert [r["reply"] for r in again] == [r["reply"] for r in rows]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == segments


def test_logprob_through_a_chat_template(smollm2: dict[str, Path], tmp_path: Path) -> None:
    ctx = _ctx(smollm2, tmp_path, max_items=1)
    ctx = EvalContext(
        **{
            **ctx.__dict__,
            "params": section(
                "evaluate",
                value_generalization=ctx.params.value_generalization,
                models=["base"],
                evals=["value_generalization"],
            ),
        }
    )
    evaluate(ctx)
    rows = pq.read_table(tmp_path / "metrics/value_generalization.parquet").to_pylist()
    assert len(rows) == 2 * 2 and {r["choice"] for r in rows} <= {"A", "B", "tie"}
    assert all(-20 < r["logp_aligned"] < 0 for r in rows)
    # the shared-prompt batched scores equal a plain forward pass of the whole sequence
    prompts, _ = load_prompts()
    items = {
        i.id: i for name in ("affordability", "america") for i in resolve(name, load_set(name))
    }
    model, tokenizer = load_base(smollm2["base"]).eval(), load_tokenizer(smollm2["base"])
    for r in rows:
        item = items[r["item_id"]]
        prompt = render(prompts.choice, item, r["order"])
        for option, got in ((item.aligned, r["logp_aligned"]), (item.other, r["logp_other"])):
            assert abs(by_hand(model, tokenizer, prompt, option) - got) < 1e-3


def test_openai_mode_needs_a_served_model_per_arm(smollm2: dict[str, Path], tmp_path: Path) -> None:
    ctx = _ctx(smollm2, tmp_path, mode="generate", backend="openai", served={"base": "m"})
    with pytest.raises(ConfigError, match=r"served has no model id for msm, aft; add `msm: "):
        evaluate(ctx)


def _line(path: Path, text: str) -> int:
    return next(n for n, ln in enumerate(path.read_text().splitlines(), 1) if text in ln)


def test_unknown_eval_name_names_file_line_and_choices(tmp_path: Path) -> None:
    path = write_params(tmp_path / "params.yaml")
    path.write_text(
        path.read_text().replace("- value_generalization\n", "- value_generalisation\n", 1)
    )
    with pytest.raises(ConfigError) as err:
        load_params(path, specs_dir=None)
    msg = str(err.value)
    assert f"{path}:{_line(path, 'value_generalisation')}:" in msg
    assert "`evaluate.evals[0]`" in msg and "did you mean 'value_generalization'" in msg


def test_unknown_set_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigError,
        match=r"value_generalization.sets names 'americana'.*known sets: affordability, america",
    ):
        load_set("americana")


@pytest.mark.parametrize(
    ("bad", "key", "fix"),
    [
        ('  - {domain: art, a: "x", b: "y", aligned: c}', "`items[1].aligned`", "one of a, b"),
        ('  - {domain: art, a: "x", aligned: a}', "missing key `items[1].b`", "add it"),
        (
            '  - {domain: art, a: "x", b: "y", aligned: a, price: 3}',
            "unknown key `items[1].price`",
            "known keys",
        ),
        (
            '  - {domain: art, a: "y", b: "x", aligned: b}',
            "item 1 repeats item 0",
            "remove or change",
        ),
        ('  - {domain: art, a: "x", b: "X", aligned: a}', "the same option", "fix the value"),
    ],
)
def test_malformed_set_names_file_line_key_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str, key: str, fix: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nvalue: v\ndescription: d\nquestion: q?\nitems:\n"
        '  - {domain: art, a: "x", b: "y", aligned: a}\n' + bad + "\n"
    )
    monkeypatch.setattr(vg_items, "DATA", tmp_path)
    with pytest.raises(ConfigError) as err:
        load_set("bad")
    msg = str(err.value)
    assert msg.startswith(f"{path}:7:"), msg
    assert key in msg and fix in msg


def test_the_suite_profile_keeps_the_smoke_subset() -> None:
    vg = PARAMS.evaluate.value_generalization
    assert vg.max_items > 0 and vg.mode == "logprob"


def test_the_aft_only_arm_is_the_base_with_the_aft_only_adapter(
    tiny_arms: dict[str, Path], tmp_path: Path
) -> None:
    evaluate(_ctx(tiny_arms, tmp_path, arms=["base", "aft_only"], max_items=6))
    metrics = json.loads((tmp_path / "metrics/value_generalization.json").read_text())
    assert set(metrics["models"]) == {"base", "aft_only"}
    rows = pq.read_table(tmp_path / "metrics/value_generalization.parquet").to_pylist()
    logp = {a: [r["logp_aligned"] for r in rows if r["model"] == a] for a in metrics["models"]}
    assert len(logp["aft_only"]) == len(logp["base"]) and logp["aft_only"] != logp["base"]
    no_adapter = {k: v for k, v in tiny_arms.items() if k != "aft_only"}
    with pytest.raises(InputError, match="--aft-only models/aft_only"):
        evaluate(_ctx(no_adapter, tmp_path / "b", arms=["aft_only"], max_items=2))
