"""Corpus steps on datatrove executors: the same bytes for any executor, task and worker count;
resume after a failed task; Ray on a local instance; Slurm with stand-in sbatch/squeue/sacct."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from testprofile import section
from tokenizers import Tokenizer

from fakes.corpus import ENGLISH_HEAD, labelled_corpus
from pipeline.config.run import load_run_config
from pipeline.dedup import steps as dedup_steps
from pipeline.dedup.stage import dedup
from pipeline.deps import closure
from pipeline.errors import ConfigError
from pipeline.execution.run import ExecutionError
from pipeline.execution.settings import ExecutorSettings, RaySettings, SlurmSettings
from pipeline.execution.workdir import work_dir
from pipeline.io import MANIFEST
from pipeline.quality.filters import Context
from pipeline.quality.stage import quality

ROOT = Path(__file__).resolve().parents[2]
FAKE_SLURM = Path(__file__).parent / "fake_slurm"
OUTPUTS = {
    "dedup": ("documents.parquet", "rejects.parquet", "clusters.json", MANIFEST),
    "quality": ("documents.parquet", "rejects.parquet", MANIFEST),
}


@pytest.fixture(scope="module")
def texts() -> list[str]:
    corpus = labelled_corpus(300, seed=4, words=120, head_words=ENGLISH_HEAD, measure=False)
    # exact duplicates too, and a few documents that quality drops
    return [*corpus.texts, corpus.texts[3].upper(), "Claude likes cheddar.", "no model here " * 30]


@pytest.fixture
def corpus(tmp_path: Path, make_records: Callable[..., Path], texts: list[str]) -> Path:
    return make_records(tmp_path / "in", [(f"d{i:04d}", t) for i, t in enumerate(texts)])


@pytest.fixture
def tok(tokenizer_dir: Callable[[list[str]], Path], texts: list[str]) -> Tokenizer:
    return Tokenizer.from_file(str(tokenizer_dir(texts) / "tokenizer.json"))


def run_both(
    src: Path, out: Path, tok: Tokenizer, ex: ExecutorSettings, work: Path
) -> dict[str, bytes]:
    """dedup then quality (on dedup's survivors); every output file's bytes by name."""
    dedup(src, out / "dedup", section("dedup"), ex, work)
    qp = section("quality", min_words=20, max_tokens=20_000)
    quality(
        out / "dedup" / "documents.parquet",
        out / "quality",
        qp,
        0,
        Context("Claude"),
        tok,
        ex,
        work,
    )
    assert not any(work.iterdir()), "the work folder is removed once the outputs are written"
    return {f"{s}/{n}": (out / s / n).read_bytes() for s, names in OUTPUTS.items() for n in names}


@pytest.fixture
def reference(corpus: Path, tok: Tokenizer, tmp_path: Path) -> dict[str, bytes]:
    out = run_both(corpus, tmp_path / "ref", tok, ExecutorSettings(tasks=1), tmp_path / "w0")
    stats = json.loads(out["dedup/manifest.json"])
    assert stats["dropped"]["exact_duplicate"] >= 1 and stats["dropped"]["near_duplicate"] > 5
    q = json.loads(out["quality/manifest.json"])
    assert q["dropped"]["token_budget"] > 0 and q["dropped"]["off_spec"] >= 1
    return out


@pytest.mark.parametrize(("tasks", "workers"), [(2, 1), (5, 1), (3, 2)])
def test_local_outputs_do_not_depend_on_tasks_or_workers(
    corpus: Path, tok: Tokenizer, tmp_path: Path, reference: dict, tasks: int, workers: int
) -> None:
    ex = ExecutorSettings(tasks=tasks, workers=workers)
    assert run_both(corpus, tmp_path / "out", tok, ex, tmp_path / "w") == reference


def test_failed_task_is_redone_alone_on_rerun(
    corpus: Path, tok: Tokenizer, tmp_path: Path, reference: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    real = dedup_steps.SketchStep.run

    def flaky(self, data=None, rank=0, world_size=1):
        ran.append(rank)
        if rank == 1 and ran.count(1) == 1:
            raise OSError("disk full")
        yield from real(self, data, rank, world_size)

    monkeypatch.setattr(dedup_steps.SketchStep, "run", flaky)
    ex, work = ExecutorSettings(tasks=3), tmp_path / "w"
    with pytest.raises(OSError, match="disk full"):
        dedup(corpus, tmp_path / "out" / "dedup", section("dedup"), ex, work)
    assert not (tmp_path / "out" / "dedup").exists()
    (folder,) = work.iterdir()
    done = sorted(p.name for p in (folder / "sketch-3tasks" / "logs" / "completions").iterdir())
    assert done == ["00000"]
    assert ran == [0, 1]
    assert run_both(corpus, tmp_path / "out", tok, ex, work) == reference
    assert ran == [0, 1, 1, 2]  # task 0 was not run again


def test_work_folder_key_follows_inputs_params_and_code(corpus: Path, tmp_path: Path) -> None:
    code = closure("pipeline.dedup.stage")
    a = work_dir("dedup", [corpus], {"ngram": 5}, code, tmp_path)
    assert a == work_dir("dedup", [corpus], {"ngram": 5}, code, tmp_path)
    assert a != work_dir("dedup", [corpus], {"ngram": 4}, code, tmp_path)
    assert a != work_dir("dedup", [corpus], {"ngram": 5}, code[:-1], tmp_path)
    other = tmp_path / "other.parquet"
    other.write_bytes(corpus.read_bytes() + b"\0")
    assert a != work_dir("dedup", [other], {"ngram": 5}, code, tmp_path)
    assert a.step("sketch", 2) != a.step("sketch", 3)


def test_executor_json_holds_no_texts_or_tokenizer(
    corpus: Path, tok: Tokenizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.execution import workdir

    monkeypatch.setattr(workdir.WorkDir, "remove", lambda self: None)  # keep it to look at
    quality(corpus, tmp_path / "q", section("quality"), 0, Context("Claude"), tok, None, tmp_path)
    (saved,) = tmp_path.glob("quality-*/filter-2tasks/logs/executor.json")
    text = saved.read_text()
    assert len(text) < 20_000 and "tokenizer.json" in text and '"model"' not in text


# ------------------------------------------------------------------------------------ Ray


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_outputs_equal_local(
    local_ray, corpus: Path, tok: Tokenizer, tmp_path: Path, reference: dict
) -> None:
    ex = ExecutorSettings(kind="ray", tasks=2, workers=2)
    assert run_both(corpus, tmp_path / "out", tok, ex, tmp_path / "w") == reference


# ---------------------------------------------------------------------------------- Slurm


@pytest.fixture
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """sbatch, squeue, sacct, srun and scontrol stand-ins first on PATH; their state folder."""
    state = tmp_path / "slurm-state"
    path = [str(FAKE_SLURM), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("FAKE_SLURM_STATE", str(state))
    return state


SLURM = ExecutorSettings(
    kind="slurm", tasks=3, workers=3, slurm=SlurmSettings(partition="cpu", poll_seconds=0.2)
)


def test_slurm_waits_for_the_array_and_matches_local(
    fake_slurm: Path, corpus: Path, tok: Tokenizer, tmp_path: Path, reference: dict
) -> None:
    assert run_both(corpus, tmp_path / "out", tok, SLURM, tmp_path / "w") == reference
    arrays = sorted(p.read_text().strip() for p in fake_slurm.glob("*.array"))
    assert arrays == ["0-0", "0-2", "0-2"]  # dedup sketch (3), dedup cluster (1), quality (3)


def test_slurm_failed_task_is_named_and_rerun_alone(
    fake_slurm: Path,
    corpus: Path,
    tok: Tokenizer,
    tmp_path: Path,
    reference: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_SLURM_FAIL", "1")
    work = tmp_path / "w"
    with pytest.raises(ExecutionError) as err:
        dedup(corpus, tmp_path / "out" / "dedup", section("dedup"), SLURM, work)
    message = str(err.value)
    assert "dedup sketch: 1 of 3 tasks failed" in message
    assert "task 1: log " in message and "task_00001.log" in message
    assert "Slurm 101_1 FAILED (exit 1:0)" in message and "101_1.out" in message
    assert not (tmp_path / "out" / "dedup").exists()
    monkeypatch.delenv("FAKE_SLURM_FAIL")
    assert run_both(corpus, tmp_path / "out", tok, SLURM, work) == reference
    assert (fake_slurm / "102.array").read_text().strip() == "0-0"  # only the failed task


# ------------------------------------------------------------------------------ run.yaml


def test_run_yaml_executor_section(tmp_path: Path) -> None:
    assert load_run_config(ROOT / "run.yaml").executor == ExecutorSettings()
    path = tmp_path / "run.yaml"
    path.write_text("executor: {kind: ray, tasks: 8, workers: 4, ray: {address: auto}}\n")
    assert load_run_config(path).executor == ExecutorSettings(
        kind="ray", tasks=8, workers=4, ray=RaySettings(address="auto")
    )
    path.write_text("executor: {kind: slurm, slurm: {partition: cpu, sbatch_args: {account: a}}}")
    assert load_run_config(path).executor.slurm.sbatch_args == {"account": "a"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("executor: {task: 2}", "unknown key `executor.task` (did you mean `tasks`?)"),
        ("executor: {kind: spark}", "`executor.kind` must be one of local, ray, slurm"),
        ("executor: {tasks: 0}", "`executor.tasks` must be > 0"),
        ("executor: {kind: slurm}", "`executor.slurm.partition` is required"),
        ("executor: {slurm: {mem_per_cpu_gb: 1.5}}", "`executor.slurm.mem_per_cpu_gb` must be"),
        (
            "executor: {ray: {adress: x}}",
            "unknown key `executor.ray.adress` (did you mean `address`?)",
        ),
        ("executor: {slurm: {srun: 1}}", "`executor.slurm.srun` must be true or false"),
        ("executor: [1]", "`executor` must be a mapping"),
    ],
)
def test_run_yaml_executor_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=r"run\.yaml") as err:
        load_run_config(path)
    assert needle in str(err.value)


def test_cli_reads_the_executor_from_run_config(
    msm, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run.yaml"
    run.write_text("executor: {tasks: 3}\n")
    env_work = tmp_path / "work"
    monkeypatch.setenv("MSM_WORK_DIR", str(env_work))
    args = ["--input", corpus.parent, "--out", tmp_path / "out", "--stats", tmp_path / "s.json"]
    proc = msm("dedup", *args, "--run-config", run)
    assert proc.returncode == 0, proc.stderr
    assert "dedup sketch: 3 task(s) on the local executor" in proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["documents_in"] == 303
    assert env_work.is_dir() and not any(env_work.iterdir())


def test_slurm_without_sbatch_is_a_config_error(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="`sbatch` is not on PATH"):
        dedup(corpus, tmp_path / "out", section("dedup"), SLURM, tmp_path / "w")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_corpus_step_exits_cleanly_and_reruns(
    make_records: Callable[..., Path], texts: list[str], tmp_path: Path, signum: int
) -> None:
    """Ctrl-C (to the whole process group, as a terminal sends it) or SIGTERM (to the parent,
    as `kill` does) while local workers run datatrove tasks: exit 130/143 with one line, no
    traceback from the parent or any worker, no output; the same command then finishes."""
    src = make_records(tmp_path / "in", [(f"d{i:05d}", t) for i, t in enumerate(texts * 10)])
    run = tmp_path / "run.yaml"
    run.write_text("executor: {tasks: 4, workers: 2}\n")
    args = ["dedup", "--input", str(src.parent), "--out", str(tmp_path / "out")]
    args += ["--stats", str(tmp_path / "s.json"), "--run-config", str(run)]
    # -v: datatrove's task banners reach the console, so the test sees when tasks are running
    cmd = [sys.executable, "-c", "from pipeline.cli import main; main()", "-v", *args]
    env = dict(os.environ, MSM_WORK_DIR=str(tmp_path / "work"))
    err = tmp_path / "stderr.txt"
    with err.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=fh, start_new_session=True)
        while "Launching pipeline" not in err.read_text():
            assert proc.poll() is None, err.read_text()
            time.sleep(0.005)
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        assert proc.wait(timeout=60) == 128 + signum, err.read_text()
    log = err.read_text()
    assert "Traceback" not in log, log
    name = signal.Signals(signum).name
    assert log.strip().splitlines()[-1].startswith(f"msm dedup: interrupted by {name}: "), log
    assert "continue with: msm -v dedup --input" in log
    assert not (tmp_path / "out").exists()
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
