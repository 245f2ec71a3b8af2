"""run.yaml `evaluate.device`: where the log-probability evals put their models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pipeline.config.run import load_run_config
from pipeline.errors import ConfigError, InputError
from training.evals.arms import Arms, eval_device


def test_the_default_is_auto_and_auto_is_the_cpu_without_a_gpu(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("evaluate: {}\n")
    assert load_run_config(tmp_path / "run.yaml").evaluate.device == "auto"
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert eval_device("auto").type == want


def test_an_explicit_cpu_is_honoured(tiny_arms: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("evaluate: {device: cpu}\n")
    device = load_run_config(tmp_path / "run.yaml").evaluate.device
    arms = Arms(tiny_arms["base"], tiny_arms["msm"], tiny_arms["aft"], None, "float32", device)
    for arm in ("base", "aft"):
        model = arms.load(arm)
        assert {p.device.type for p in model.parameters()} == {"cpu"}
        assert {p.dtype for p in model.parameters()} == {torch.float32}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_names_the_key_and_the_fix(tiny_arms: dict[str, Path]) -> None:
    arms = Arms(tiny_arms["base"], tiny_arms["msm"], tiny_arms["aft"], None, "float32", "cuda")
    with pytest.raises(InputError, match=r"evaluate\.device is 'cuda' .* no CUDA device.*auto"):
        arms.load("base")
    with pytest.raises(InputError, match=r"'cuda:1'"):
        eval_device("cuda:1")


def test_a_bad_device_is_an_error_naming_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text("evaluate:\n  device: gpu\n")
    with pytest.raises(ConfigError, match=r"run\.yaml.*device.*auto, cpu, cuda or cuda:N"):
        load_run_config(tmp_path / "run.yaml")
