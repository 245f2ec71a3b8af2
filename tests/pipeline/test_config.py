"""The typed loader on real and broken params.yaml and run.yaml files, and `msm params`."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.config.params import GenerateParams, Params, load_params
from pipeline.config.run import load_run_config
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"
SPECS = ROOT / "specs"
GENERATE_KEYS = [f.name for f in dataclasses.fields(GenerateParams)]
TOP_KEYS = [f.name for f in dataclasses.fields(Params)]


def edited(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the repo's params.yaml with one exact edit."""
    text = PARAMS.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not unique in params.yaml"
    path = tmp_path / "params.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    (n,) = [i + 1 for i, ln in enumerate(lines) if ln.startswith(needle)]
    return n


def test_repo_params_load() -> None:
    params = load_params(PARAMS, SPECS)
    assert params.spec in params.specs
    assert len(params.specs) == 7
    assert isinstance(params.generate, GenerateParams)
    assert params.dedup.bands * params.dedup.rows > 0
    assert params.train_msm.lora.target_modules


def test_missing_key_names_its_section_and_line(tmp_path: Path) -> None:
    path = edited(tmp_path, "  revise: false\n", "")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, 'generate:')}: missing key `generate.revise`")
    assert "true or false" in msg


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = edited(tmp_path, "\nseed: 0", "\nseed: 0\nsead: 1\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert f"{path}:{line_of(path, 'sead:')}:" in msg
    assert "`sead`" in msg
    assert "did you mean `seed`?" in msg
    for key in TOP_KEYS:
        assert key in msg


def test_unknown_nested_key(tmp_path: Path) -> None:
    path = edited(tmp_path, "  ideas_per_doc_type: 4\n", "  ideas_per_doc_type: 4\n  doc_type: 2\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert f"{path}:{line_of(path, '  doc_type:')}:" in msg
    assert "`generate.doc_type`" in msg
    assert "; known keys under `generate`: " + ", ".join(GENERATE_KEYS) in msg


def test_unknown_key_deeper_nesting(tmp_path: Path) -> None:
    anchor = "  max_length: 128\n  lora:\n    r: 16\n"
    path = edited(tmp_path, anchor, anchor + "    rank: 4\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, '    rank:')}: unknown key `train_aft.lora.rank`")
    assert "known keys under `train_aft.lora`: r, alpha, dropout, target_modules" in msg


@pytest.mark.parametrize(
    ("old", "new", "key", "expected", "got"),
    [
        ("\nseed: 0 ", '\nseed: "0" ', "seed", "an integer", "str '0'"),
        ("\nseed: 0 ", "\nseed: true ", "seed", "an integer", "bool True"),
        (
            "  docs_per_idea: 1\n",
            "  docs_per_idea: yes\n",
            "generate.docs_per_idea",
            "an integer",
            "bool",
        ),
        ("  seq_len: 512\n", "  seq_len: 512.5\n", "pack.seq_len", "an integer", "float"),
        ("  threshold: 0.7\n", "  threshold: high\n", "dedup.threshold", "a number", "str"),
        ("  revise: false\n", "  revise: 0\n", "generate.revise", "true or false", "int"),
    ],
)
def test_wrong_type(tmp_path: Path, old: str, new: str, key: str, expected: str, got: str) -> None:
    path = edited(tmp_path, old, new)
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    leaf = key.rsplit(".", 1)[-1]
    needle = new.split(":")[0].lstrip("\n")
    assert f"{path}:{line_of(path, needle)}:" in msg, msg
    assert f"`{key}` must be {expected}, got {got}" in msg
    assert leaf in msg


def test_int_accepted_for_float(tmp_path: Path) -> None:
    path = edited(tmp_path, "  threshold: 0.7\n", "  threshold: 1\n")
    assert load_params(path, SPECS).dedup.threshold == 1.0


def test_list_of_wrong_type(tmp_path: Path) -> None:
    path = edited(tmp_path, "    sets: [affordability, america]\n", "    sets: affordability\n")
    with pytest.raises(
        ConfigError, match=r"`evaluate\.value_generalization\.sets` must be a list of str"
    ):
        load_params(path, SPECS)


def test_list_item_error_names_the_item_line(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "  models: [base, msm, aft, aft_only]\n",
        "  models:\n    - base\n    - msm\n    - afft\n",
    )
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    assert f"{path}:{line_of(path, '    - afft')}: `evaluate.models[2]` must be one of" in str(
        err.value
    )


def test_out_of_range_value_names_its_line(tmp_path: Path) -> None:
    path = edited(tmp_path, "  threshold: 0.7\n", "  threshold: 1.5\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert f"{path}:{line_of(path, '  threshold: 1.5')}:" in msg
    assert "`dedup.threshold` must lie in [0, 1], got 1.5" in msg


def test_choice_names_the_choices_and_a_close_one(tmp_path: Path) -> None:
    path = edited(tmp_path, "\n  backend: offline", "\n  backend: ofline")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert f"{path}:{line_of(path, '  backend:')}:" in msg
    assert "`generate.backend` must be one of offline, hf, anthropic, openai, vllm" in msg
    assert "(did you mean 'offline'?)" in msg


def test_repo_run_yaml_loads_and_states_only_what_differs() -> None:
    rc = load_run_config(ROOT / "run.yaml")
    assert rc.price("anthropic", "claude-sonnet-4-5-20250929").batch_discount == 0.5
    assert rc.llm == type(rc.llm)() and rc.executor == type(rc.executor)()


def test_run_yaml_errors_name_file_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("llm:\n  concurrency: 4\n  concurency: 8\n")
    with pytest.raises(ConfigError) as err:
        load_run_config(path)
    assert str(err.value).startswith(f"{path}:3: unknown key `llm.concurency`")
    assert "did you mean `concurrency`?" in str(err.value)
    path.write_text("executor:\n  kind: slurm\n")
    with pytest.raises(ConfigError, match=r"run\.yaml:1: `executor\.slurm\.partition` is required"):
        load_run_config(path)
    path.write_text("executor:\n  kind: k8s\n")
    with pytest.raises(ConfigError, match="must be one of local, ray, slurm"):
        load_run_config(path)


def test_active_spec_not_listed(tmp_path: Path) -> None:
    path = edited(tmp_path, "spec: cheese_affordability", "spec: cheddar")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert "`spec: cheddar` is not one of `specs`" in msg
    assert "cheese_affordability" in msg


def test_missing_required_key(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("specs: [rules]\n")
    with pytest.raises(ConfigError, match="missing key `spec`"):
        load_params(path, SPECS)


def test_spec_listed_without_file(tmp_path: Path) -> None:
    path = edited(tmp_path, "  - general\n", "  - general\n  - cheddar\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert "'cheddar'" in msg
    assert str(SPECS / "cheddar.md") in msg
    assert "known specs: " + ", ".join(sorted(p.stem for p in SPECS.glob("*.md"))) in msg
    # without a specs folder to check against, the same file loads
    assert "cheddar" in load_params(path, specs_dir=None).specs


def test_not_yaml_and_not_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("specs: [rules\nspec: rules\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad, SPECS)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_params(bad, SPECS)
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "absent.yaml", SPECS)


def test_cli_params_ok(msm: Callable[..., subprocess.CompletedProcess]) -> None:
    proc = msm("params", "--params", PARAMS, "--specs-dir", SPECS)
    assert proc.returncode == 0, proc.stderr
    assert "OK (7 specs, active spec cheese_affordability)" in proc.stdout


def test_cli_params_error_exit_2(
    tmp_path: Path, msm: Callable[..., subprocess.CompletedProcess]
) -> None:
    path = edited(tmp_path, "  ideas_per_doc_type: 4\n", "  ideas_per_doc_type: 4\n  doc_type: 2\n")
    proc = msm("params", "--params", path, "--specs-dir", SPECS)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"error: {path}:{line_of(path, '  doc_type:')}: ")
    assert "unknown key `generate.doc_type`" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_params_missing_spec_file_exit_2(
    tmp_path: Path, msm: Callable[..., subprocess.CompletedProcess]
) -> None:
    path = edited(tmp_path, "  - general\n", "  - general\n  - cheddar\n")
    proc = msm("params", "--params", path, "--specs-dir", SPECS)
    assert proc.returncode == 2
    assert "'cheddar'" in proc.stderr and "known specs:" in proc.stderr


def test_unknown_active_spec_names_its_line_and_the_closest_spec(tmp_path: Path) -> None:
    path = edited(tmp_path, "\nspec: ", "\nspec: rulez  # was: ")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, 'spec: rulez')}: `spec: rulez`"), msg
    assert "did you mean `rules`?" in msg


def test_listed_spec_without_file_names_its_line_and_the_closest_file(tmp_path: Path) -> None:
    path = edited(tmp_path, "  - rules\n", "  - rulez\n")
    with pytest.raises(ConfigError) as err:
        load_params(path, SPECS)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line_of(path, '  - rulez')}: spec 'rulez'"), msg
    assert "did you mean `rules`?" in msg and "specs/rulez.md" in msg
