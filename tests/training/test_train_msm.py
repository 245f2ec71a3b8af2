"""`msm train-msm` on a tiny real model: learning, attention, resume after SIGKILL, clear errors.

Runs on whatever device is there: the CPU in CI (byte-identical resume), the GPU machine with
`pytest -m "not slow" tests/training` (flex attention, compile, fused loss; resume within
numerical tolerance).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tiny import DOCS, WORDS, write_base, write_params, write_shards

from pipeline.config.params import TrainMsmParams, load_params
from pipeline.config.run import TrainingSettings
from training.attention import block_causal_mask
from training.data import PackedCollator, PackedDataset
from training.distributed import World
from training.loop import plan_steps, train_step
from training.model import load_base, load_trained
from training.train import attention_for, prepare, runtime

ROOT = Path(__file__).resolve().parents[2]
CUDA = torch.cuda.is_available()
ATTENTIONS = ["sdpa", "flex_attention"] if CUDA else ["sdpa"]


def train_cmd(ws: dict[str, Path], out: str = "msm", procs: int = 1) -> list[str]:
    launch = ["-c", "from pipeline.cli import main; main()"]
    if procs > 1:  # what `torchrun --standalone --nproc-per-node N -m pipeline.cli` runs
        launch = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
                  "-m", "pipeline.cli"]  # fmt: skip
    return [
        sys.executable, *launch, "train-msm",
        "--params", str(ws["params"]), "--run-config", str(ws["run"]),
        "--base", str(ws["base"]), "--shards", str(ws["shards"]),
        "--out", str(ws["tmp"] / out), "--metrics", str(ws["tmp"] / f"{out}-metrics"),
    ]  # fmt: skip


def env(work: Path) -> dict[str, str]:
    return dict(os.environ, MSM_WORK_DIR=str(work), HF_HUB_OFFLINE="1")


def run_stage(ws: dict[str, Path], out: str = "msm", work: str = "work", procs: int = 1):
    return subprocess.run(
        train_cmd(ws, out, procs),
        cwd=ROOT,
        env=env(ws["tmp"] / work),
        capture_output=True,
        text=True,
        timeout=300,
    )


def runtime_for(ws: dict[str, Path], tp: TrainMsmParams, attention: str = "sdpa"):
    world = World(0, 1, torch.device("cuda" if CUDA else "cpu"))
    settings = TrainingSettings(attention=attention, compile="never")
    ds = PackedDataset(ws["shards"], "train")
    plan = plan_steps(tp, ds.seq_len, len(ds), 1, 0)
    model, module = prepare(
        load_base(ws["base"], "float32", attention), tp, settings, world, attention
    )
    return model, module, ds, plan, runtime(module, tp, plan, world, attention)


def test_every_lora_weight_changes_and_nothing_else(workspace: dict[str, Path]) -> None:
    default = load_params(ROOT / "params.yaml", None).train_msm
    tp = replace(default, batch_tokens=256, micro_batch_rows=2, weight_decay=0.0, lr=1e-2,
                 warmup_ratio=0, lora=replace(default.lora, r=4, alpha=8))  # fmt: skip
    model, _, ds, plan, rt = runtime_for(workspace, tp)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for step in range(2):  # lora_B starts at zero, so lora_A gets a gradient from step 2 on
        train_step(rt, ds, plan.rows_of(step, len(ds)), plan, 1.0)
        rt.optimizer.step()
        rt.optimizer.zero_grad()
    for name, p in model.named_parameters():
        changed = not torch.equal(before[name], p.detach())
        assert changed == ("lora_" in name), f"{name}: changed={changed}"
    assert sum("lora_" in n for n, _ in model.named_parameters()) == 2 * 7 * 2  # A, B x 7 x 2


def test_loss_falls_when_overfitting(workspace: dict[str, Path]) -> None:
    # documents that cycle through the vocabulary: the next word is learnable
    cycle = [
        " ".join(["Claude", *(WORDS[(i + k) % len(WORDS)] for k in range(30))]) for i in range(8)
    ]
    workspace["shards"] = write_shards(cycle, workspace["base"], workspace["tmp"] / "cyc", 64, 0.0)
    write_params(workspace["params"], lr=0.01, max_steps=40)
    done = run_stage(workspace)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((workspace["tmp"] / "msm-metrics" / "metrics.json").read_text())
    run = metrics["run"]
    assert run["steps"] == 40 and run["rows_per_step"] == 4
    # a random 32-wide model with r=4 adapters plateaus near 2.7 from 3.2 (full training: 1.6)
    assert run["loss_last"] < 0.9 * run["loss_first"], run
    curve = (workspace["tmp"] / "msm-metrics" / "plots" / "metrics" / "loss.tsv").read_text()
    assert curve.splitlines()[0].split("\t") == ["step", "loss"]
    assert len(curve.splitlines()) == 41
    recipe = json.loads((workspace["tmp"] / "msm" / "training.json").read_text())
    assert recipe["grad_accum"] == 2 and recipe["devices"] == 1
    assert not (workspace["tmp"] / "work").exists() or not any(
        (workspace["tmp"] / "work").iterdir()
    )


def test_full_fine_tuning_writes_a_whole_model(workspace: dict[str, Path]) -> None:
    write_params(workspace["params"], max_steps=3, method="full")
    done = run_stage(workspace)
    assert done.returncode == 0, done.stderr
    out = workspace["tmp"] / "msm"
    assert (out / "config.json").is_file() and not (out / "adapter_config.json").exists()
    trained = load_trained(workspace["base"], out)
    base = load_base(workspace["base"])
    names = [n for n, _ in base.named_parameters()]
    assert names == [n for n, _ in trained.named_parameters()]
    changed = [
        n
        for (n, a), (_, b) in zip(base.named_parameters(), trained.named_parameters(), strict=True)
        if not torch.equal(a, b)
    ]
    assert changed == names  # every weight trained, the tied embedding included


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_no_attention_across_documents(workspace: dict[str, Path], attention: str) -> None:
    ds = PackedDataset(workspace["shards"], "train")
    row = next(i for i, s in enumerate(ds.segments) if len(s) >= 2 and s[1, 2] > 2)
    item = PackedCollator()([ds[row]])
    device = torch.device("cuda" if CUDA else "cpu")
    model = load_base(workspace["base"], "float32", attention).to(device).eval()
    first, second = ds.segments[row][0], ds.segments[row][1]

    def hidden(ids: torch.Tensor) -> torch.Tensor:
        pos = item["position_ids"].to(device)
        mask = block_causal_mask(pos, attention)
        with torch.no_grad():
            out = model.model(input_ids=ids.to(device), position_ids=pos, attention_mask=mask)
        return out.last_hidden_state[0, second[1] : second[1] + second[2]]

    changed = item["input_ids"].clone()
    a0, an = int(first[1]), int(first[1] + first[2])
    changed[0, a0:an] = (changed[0, a0:an] + 1) % model.config.vocab_size
    torch.testing.assert_close(hidden(item["input_ids"]), hidden(changed), rtol=0, atol=1e-6)
    # and the mask does matter: plain causal attention lets document A leak into B
    pos = item["position_ids"].to(device)
    with torch.no_grad():
        plain = [
            model.model(input_ids=x.to(device), position_ids=pos, attention_mask=torch.ones_like(x))
            .last_hidden_state[0, second[1] : second[1] + second[2]]
            for x in (item["input_ids"].to(device), changed.to(device))
        ]  # fmt: skip
    assert not torch.allclose(plain[0], plain[1])


def whole_then_start_until_a_checkpoint(ws: dict[str, Path], every: int) -> subprocess.Popen:
    """60 steps with a checkpoint every `every`: run them whole (into `whole`), then start the
    same run (into `resumed`, work folder `work`) and return once its first checkpoint exists."""
    write_params(ws["params"], max_steps=60)
    ws["run"].write_text(f"training:\n  checkpoint_every: {every}\n  threads: 1\n")
    whole = run_stage(ws, "whole", "work-whole")
    assert whole.returncode == 0, whole.stderr

    work = ws["tmp"] / "work"
    proc = subprocess.Popen(train_cmd(ws, "resumed"), cwd=ROOT, env=env(work), text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 240
    while not list(work.glob("*/step-*.pt")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    return proc


@pytest.mark.parametrize("resume_with", ["same", "fsdp-2"])
def test_sigkill_then_resume_equals_uninterrupted(
    workspace: dict[str, Path], resume_with: str
) -> None:
    """Killed after a checkpoint, the re-run resumes there and ends with the adapter of a run
    never killed: byte-identical on the CPU; within tolerance on a GPU, or when resumed by two
    FSDP processes (the checkpoint holds full state dicts, whatever wrote it)."""
    ws = workspace
    proc = whole_then_start_until_a_checkpoint(ws, every=5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (ws["tmp"] / "resumed").exists(), "a killed run must not leave an output"

    procs = 1
    if resume_with == "fsdp-2":
        ws["run"].write_text("training:\n  checkpoint_every: 5\n  threads: 1\n  parallel: fsdp\n")
        procs = 2
    resumed = run_stage(ws, "resumed", "work", procs=procs)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stderr
    if CUDA or procs > 1:
        _adapters_close(ws["tmp"] / "whole", ws["tmp"] / "resumed", atol=1e-4 if CUDA else 1e-6)
        return
    for name in ("adapter_model.safetensors", "training.json"):
        assert (ws["tmp"] / "whole" / name).read_bytes() == (
            ws["tmp"] / "resumed" / name
        ).read_bytes()
    for name in ("metrics.json", "plots/metrics/loss.tsv", "plots/metrics/grad_norm.tsv"):
        assert (ws["tmp"] / "whole-metrics" / name).read_bytes() == (
            ws["tmp"] / "resumed-metrics" / name
        ).read_bytes()


def test_sigterm_checkpoints_at_the_step_boundary_then_resumes(
    workspace: dict[str, Path],
) -> None:
    """SIGTERM (preemption, `kill`) mid-run: a checkpoint at the step in progress, exit 143 with
    one line naming the command that continues, no traceback; that command resumes and ends
    with the adapter and curves of a run never interrupted."""
    ws = workspace
    work = ws["tmp"] / "work"
    proc = whole_then_start_until_a_checkpoint(ws, every=4)
    time.sleep(0.2)  # a few steps past the periodic checkpoint
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-3000:]
    assert "Traceback" not in err
    (checkpoint,) = work.glob("*/step-*.pt")
    step = int(checkpoint.stem.split("-")[1])
    line = err.strip().splitlines()[-1]
    assert line.startswith(
        f"msm train-msm: interrupted by SIGTERM: checkpoint written at step {step} of 60; "
    ), line
    assert f"continue with: msm train-msm --params {ws['params']}" in line, line
    assert 4 <= step < 60, step
    assert not (ws["tmp"] / "resumed").exists(), "an interrupted run must not leave an output"

    resumed = run_stage(ws, "resumed", "work")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"(step {step})" in resumed.stderr
    if CUDA:
        _adapters_close(ws["tmp"] / "whole", ws["tmp"] / "resumed", atol=1e-4)
        return
    for name in ("adapter_model.safetensors", "metrics.json"):
        a = ws["tmp"] / ("whole" if name.endswith("tensors") else "whole-metrics") / name
        b = ws["tmp"] / ("resumed" if name.endswith("tensors") else "resumed-metrics") / name
        assert a.read_bytes() == b.read_bytes(), name


def _adapters_close(a: Path, b: Path, atol: float) -> None:
    wa = load_file(a / "adapter_model.safetensors")
    wb = load_file(b / "adapter_model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=atol)


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_processes_match_one(workspace: dict[str, Path], parallel: str) -> None:
    """The same command under torchrun (gloo on the CPU, NCCL on GPUs): the batch is in tokens,
    so two processes train on the same rows per step and follow the same curve."""
    ws = workspace
    ws["run"].write_text(
        f"training:\n  checkpoint_every: 0\n  threads: 1\n  parallel: {parallel}\n"
    )
    one = run_stage(ws, "one", "w1")
    two = run_stage(ws, "two", "w2", procs=2)
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    curves = [
        np.loadtxt(ws["tmp"] / f"{o}-metrics/plots/metrics/loss.tsv", skiprows=1)
        for o in ("one", "two")
    ]
    np.testing.assert_allclose(curves[0], curves[1], rtol=0, atol=1e-5)
    _adapters_close(ws["tmp"] / "one", ws["tmp"] / "two", atol=1e-6)
    recipe = json.loads((ws["tmp"] / "two" / "training.json").read_text())
    assert recipe["devices"] == 2 and recipe["grad_accum"] == 1


def _fails(done: subprocess.CompletedProcess, ws: dict[str, Path], *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr
    assert not (ws["tmp"] / "msm").exists() and not (ws["tmp"] / "msm-metrics").exists()


def test_tokenizer_mismatch_is_a_clear_error(workspace: dict[str, Path]) -> None:
    other = write_base(workspace["tmp"] / "other", [*DOCS, "an extra word list"], seed=1)
    workspace["base"] = other
    _fails(run_stage(workspace), workspace, "tokenizer sha256", "were tokenized with")


def test_corrupt_shards_fail_verify_first(workspace: dict[str, Path]) -> None:
    bad = workspace["tmp"] / "shards"
    shutil.copytree(workspace["shards"], bad)
    tokens = np.load(bad / "train_tokens.npy")
    tokens[0, 0] += 1
    np.save(bad / "train_tokens.npy", tokens)
    workspace["shards"] = bad
    _fails(run_stage(workspace), workspace, "fail `msm verify`", "sha256 mismatch")


def test_zero_training_sequences_is_an_error(workspace: dict[str, Path]) -> None:
    workspace["shards"] = write_shards(
        DOCS[:3], workspace["base"], workspace["tmp"] / "few", seq_len=64, val=1.0
    )
    _fails(run_stage(workspace), workspace, "zero sequences")


def test_batch_larger_than_the_corpus_is_an_error(workspace: dict[str, Path]) -> None:
    write_params(workspace["params"], batch_tokens=640000)
    _fails(run_stage(workspace), workspace, "fewer than one step", "batch_tokens")


def test_nan_loss_stops_with_the_step(workspace: dict[str, Path]) -> None:
    from safetensors.torch import save_file

    weights = workspace["base"] / "model.safetensors"
    state = load_file(weights)
    state["model.norm.weight"][:] = float("nan")
    save_file(state, weights, metadata={"format": "pt"})
    _fails(run_stage(workspace), workspace, "step 1: loss nan", "diverged")


def test_attention_choice_follows_the_device() -> None:
    assert attention_for(TrainingSettings(), torch.device("cpu")) == "sdpa"
    assert attention_for(TrainingSettings(), torch.device("cuda")) == "flex_attention"
    assert attention_for(TrainingSettings(attention="sdpa"), torch.device("cuda")) == "sdpa"
