"""Errors a new user meets first: each names the file, line or key and the fix, never a stray
exception text, and a spec that leaves nothing to generate from is refused, not turned into an
empty corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from msmrun import msm_in
from testprofile import section, write_params

from pipeline.dedup.stage import dedup
from pipeline.errors import ConfigError
from pipeline.generate.prompts import PROMPTS, fill

ROOT = Path(__file__).resolve().parents[2]
CLI = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A folder laid out like the repository: its dvc.yaml, and no corpus built yet."""
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    return tmp_path


# ------------------------------------------------------------------------ msm verify


def test_verify_missing_folder_names_the_stage_that_writes_it(repo: Path) -> None:
    proc = msm_in(repo, "verify", "corpora/rules/shards")
    assert proc.returncode == 2
    assert "corpora/rules/shards: no such folder" in proc.stderr
    assert "dvc repro pack@rules" in proc.stderr
    assert "did not complete" not in proc.stderr and "Traceback" not in proc.stderr


def test_verify_on_another_stages_folder_says_what_it_is(
    repo: Path, make_records: Callable[..., Path]
) -> None:
    src = make_records(repo / "gen", [("a", "Claude likes cheddar and brie a great deal.")])
    dedup(src, repo / "corpora" / "rules" / "dedup", section("dedup"))
    proc = msm_in(repo, "verify", "corpora/rules/dedup")
    assert proc.returncode == 2
    assert "not a shard folder" in proc.stderr and "`dedup@rules`" in proc.stderr
    assert "corpora/rules/shards" in proc.stderr  # where the shards are
    assert "KeyError" not in proc.stderr and "'files'" not in proc.stderr


def test_verify_on_a_foreign_folder_names_the_missing_keys(repo: Path) -> None:
    folder = repo / "elsewhere"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"documents": 3}))
    proc = msm_in(repo, "verify", folder)
    assert proc.returncode == 2
    assert f"{folder}: not a shard folder" in proc.stderr
    assert "files, seq_len, splits" in proc.stderr and "KeyError" not in proc.stderr
    (folder / "manifest.json").write_text(json.dumps({"files": {}, "splits": {}}))
    proc = msm_in(repo, "verify", folder)
    assert proc.returncode == 1
    assert "no `seq_len` key" in proc.stdout and "KeyError" not in proc.stdout + proc.stderr
    shutil.rmtree(folder)
    folder.mkdir()
    proc = msm_in(repo, "verify", folder)
    assert proc.returncode == 2 and "manifest.json: missing" in proc.stderr


# ------------------------------------------------------------------------ msm train-msm


def test_train_msm_checks_its_arguments_before_importing_torch(repo: Path) -> None:
    shutil.copy(ROOT / "params.yaml", repo / "params.yaml")
    shutil.copytree(ROOT / "specs", repo / "specs")
    shutil.copy(ROOT / "run.yaml", repo / "run.yaml")
    args = ("--base", "models/base", "--shards", "corpora/rules/shards")
    args += ("--out", "models/msm", "--metrics", "metrics/train_msm")
    proc = msm_in(
        repo,
        "train-msm",
        *args,
        code="print('heavy:', sorted({'torch', 'transformers'} & set(sys.modules)))",
    )
    assert proc.returncode == 2, proc.stderr
    assert "corpora/rules/shards: no such folder" in proc.stderr
    assert "dvc repro pack@rules" in proc.stderr
    assert "heavy: []" in proc.stdout
    assert not (repo / "models").exists() and not (repo / "metrics").exists()


# ------------------------------------------------------------------------ specs


def test_spec_show_unknown_name_lists_the_known_specs(msm: CLI) -> None:
    proc = msm("spec", "show", "rulez")
    assert proc.returncode == 2
    assert "specs/rulez.md: no such spec file" in proc.stderr
    assert "did you mean 'rules'?" in proc.stderr
    assert "cheese_affordability" in proc.stderr and "params.yaml" not in proc.stderr
    proc = msm("spec", "show", "nope")
    assert proc.returncode == 2 and "general, philosophy" in proc.stderr
    assert "params.yaml" not in proc.stderr


SPEC_HEAD = "---\nname: t\ntitle: T\nkind: {kind}\nmodel_name: Orbit\nprovider_name: Acme\n---\n"


def test_placeholder_typo_gets_a_did_you_mean(tmp_path: Path, msm: CLI) -> None:
    path = tmp_path / "t.md"
    body = "\nIntro line here.\n\n{modle_name} always answers plainly and kindly.\n"
    path.write_text(SPEC_HEAD.format(kind="values") + body)
    proc = msm("spec", "lint", path)
    assert proc.returncode == 1
    assert f"{path}:11: unknown placeholder '{{modle_name}}'" in proc.stderr
    assert "did you mean {model_name}?" in proc.stderr
    assert "remove the braces" not in proc.stderr


def test_prompt_file_placeholder_typo_names_file_line_and_slot() -> None:
    text = (PROMPTS / "system.txt").read_text(encoding="utf-8")
    typo = text.replace("$provider_name", "$provder_name", 1)
    line = typo[: typo.index("$provder_name")].count("\n") + 1
    slots = dict.fromkeys(
        ("model_name", "provider_name", "spec_title", "overview", "section_title", "excerpt"), ""
    )
    slots["assertions"] = ""
    assert fill(PROMPTS / "system.txt", text, slots)  # the shipped file fills
    with pytest.raises(ConfigError) as err:
        fill(PROMPTS / "system.txt", typo, slots)
    msg = str(err.value)
    assert msg.startswith(f"{PROMPTS / 'system.txt'}:{line}: unknown placeholder $provder_name")
    assert "did you mean $provider_name?" in msg


# ------------------------------------------------------------------------ nothing to generate


RULES_WITHOUT_RULES = (
    "\nThe rules {model_name} follows are listed below.\n\n## Rules\n\nNone yet.\n"
)
VALUES_WITHOUT_SENTENCES = "\nBe kind.\n\n## Tone\n\nWarm. Plain.\n"
# long sentences, but each about the document rather than the model
VALUES_ONLY_META = (
    "\nThis document describes how {model_name} should talk to people in general.\n\n"
    "## Tone\n\nThis is a preference, not a rule about anything in particular.\n"
)


@pytest.mark.parametrize(
    ("kind", "body", "missing"),
    [
        ("rules", RULES_WITHOUT_RULES, "without rule items"),
        ("values", VALUES_WITHOUT_SENTENCES, "no sentence of at least 6 words"),
        ("values", VALUES_ONLY_META, "sentences about the document itself"),
    ],
)
def test_spec_with_nothing_to_generate_fails_lint_and_generate(
    tmp_path: Path, msm: CLI, kind: str, body: str, missing: str
) -> None:
    spec = tmp_path / "specs" / "t.md"
    spec.parent.mkdir()
    spec.write_text(SPEC_HEAD.format(kind=kind) + body)
    params = write_params(
        tmp_path / "params.yaml", specs=["t"], spec="t", generate={"min_assertion_words": 6}
    )
    lint = msm("spec", "lint", spec, "--params", params)
    assert lint.returncode == 1
    assert f"FAIL {spec}: " in lint.stderr and missing in lint.stderr

    out = tmp_path / "corpora"
    proc = msm(
        "generate",
        *("--spec", spec, "--params", params, "--plan", out / "plan.json"),
        *("--cache", out / "cache", "--out", out / "generate", "--stats", out / "stats.json"),
    )
    assert proc.returncode == 2
    assert f"error: {spec}: " in proc.stderr and missing in proc.stderr
    assert lint.stderr.split("FAIL ")[1].splitlines()[0] in proc.stderr  # the same message
    assert not out.exists()  # nothing written, not even the cache folder
