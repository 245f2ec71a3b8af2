"""The shipped studies plan valid experiments on the repository's params.yaml; a broken study
file is an error naming the file, the line and the fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config.overlay import merge
from pipeline.config.params import load_params, params_from_mapping
from pipeline.errors import ConfigError
from training.studies.study import load_study, plan

ROOT = Path(__file__).resolve().parents[3]
STUDIES = sorted(p.stem for p in (ROOT / "studies").glob("*.yaml"))


def _plan(name: str, gpu: bool = False, studies: Path = ROOT / "studies"):
    return plan(
        name,
        load_study(name, studies),
        gpu=gpu,
        params_path=ROOT / "params.yaml",
        profiles=ROOT / "profiles",
        specs_dir=ROOT / "specs",
        studies=studies,
    )


def test_the_papers_three_studies_ship() -> None:
    assert {"cheese", "agentic", "spec_science"} <= set(STUDIES)


@pytest.mark.parametrize("gpu", [False, True])
@pytest.mark.parametrize("name", STUDIES)
def test_every_experiment_is_valid_params(name: str, gpu: bool) -> None:
    study = load_study(name, ROOT / "studies")
    experiments = _plan(name, gpu)
    assert len(experiments) == len(study.specs) * len(study.variants) * len(study.seeds)
    names = [e.name for e in experiments]
    assert len(set(names)) == len(names)
    for e in experiments:
        assert e.name == f"{name}-{e.spec}-{e.variant}-s{e.seed}"
        assert e.overlay["spec"] == e.spec and e.overlay["train_seed"] == e.seed
        assert "seed" not in e.overlay  # the data seed is shared by every run of a study


def test_cheese_study_shares_the_fixed_aft_set_and_gpu_adds_the_paper_profile() -> None:
    cpu = _plan("cheese")
    assert {e.overlay["aft_data"]["source"] for e in cpu} == {
        "training/resources/aft_cheese_preferences.yaml"
    }
    gpu = _plan("cheese", gpu=True)[0]
    assert gpu.overlay["train_msm"]["lora"]["r"] == 64 and gpu.overlay["model"]["dtype"]
    assert "-S train_seed=0" in gpu.command(Path("studies/cheese.yaml"))


def test_spec_placeholder_and_token_budget() -> None:
    for e in _plan("spec_science"):
        assert e.overlay["aft_data"]["source"] == f"specs/{e.spec}.md"
        assert e.overlay["quality"]["max_tokens"] > 0  # token-matched corpora
    cot = {e.variant: e.overlay["train_aft"]["cot"] for e in _plan("agentic")}
    assert cot == {"cot": True, "no_cot": False}


def test_flags_round_trip_through_params(tmp_path: Path) -> None:
    """What the queue line sets, laid over params.yaml, is what the experiment validates."""
    import yaml

    e = _plan("agentic")[0]
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    params = params_from_mapping(merge(base, e.overlay, tmp_path), tmp_path)
    assert params.spec == "philosophy" and params.train_aft.cot is True
    assert params.seed == load_params(ROOT / "params.yaml").seed


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    studies = tmp_path / "studies"
    studies.mkdir()
    text = (ROOT / "studies/cheese.yaml").read_text()
    assert old in text
    (studies / "cheese.yaml").write_text(text.replace(old, new, 1))
    return studies


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    studies = _broken(tmp_path, "seeds:", "sedes:")
    with pytest.raises(ConfigError) as err:
        load_study("cheese", studies)
    msg = str(err.value)
    assert f"{studies / 'cheese.yaml'}:" in msg and "`sedes`" in msg
    assert "did you mean `seeds`?" in msg


def test_spec_outside_params_specs_is_refused(tmp_path: Path) -> None:
    studies = _broken(tmp_path, "specs: [cheese_affordability,", "specs: [cheese_afordability,")
    with pytest.raises(ConfigError) as err:
        _plan("cheese", studies=studies)
    assert "cheese.yaml" in str(err.value) and "did you mean `cheese_affordability`" in str(
        err.value
    )


def test_bad_variant_key_and_unknown_study(tmp_path: Path) -> None:
    studies = _broken(tmp_path, "  train_aft:\n    cot: false", "  train_aft:\n    cott: false")
    with pytest.raises(ConfigError) as err:
        _plan("cheese", studies=studies)
    assert "cott" in str(err.value)
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "study", "cheeze", "--studies", str(studies)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no such study" in done.stderr and "cheese" in done.stderr


def test_print_lists_queue_lines_without_queueing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "study", "cheese", "--print", "--seeds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and all(ln.startswith("dvc exp run --queue -n cheese-") for ln in lines)
