"""Slurm: submit a step as a job array with datatrove, then wait for it and check every task.

datatrove's `SlurmPipelineExecutor.run()` returns as soon as `sbatch` has accepted the array. A
stage must not write its outputs before the array is done, so `run_slurm`:

1. submits the incomplete tasks (datatrove pickles the pipeline into the step's logging folder,
   and each array task runs `launch_pickled_pipeline` on it, through srun unless
   `executor.slurm.srun` is false); the job ids are read from sbatch's answer;
2. polls `squeue -h -j <ids>` every `executor.slurm.poll_seconds` until none of the jobs is
   pending or running (squeue's "Invalid job id" for jobs that have left the queue counts as
   done);
3. leaves the verdict to datatrove's completion markers (`run_step` checks them); for each task
   without one it asks `sacct` for the array task's state and exit code and names the Slurm log
   (`<logs>/slurm_logs/<job>_<index>.out`) next to datatrove's task log.

Interrupting the stage while it waits leaves the array running (`scancel <ids>` stops it); a
rerun resubmits only the tasks without a completion marker.

The work folder must be on a filesystem that the compute nodes share with the submitting host,
and the tasks need this environment (`executor.slurm.env_command`, or the submitting shell's,
which sbatch exports). The tests drive this module with stand-ins for sbatch, squeue, sacct,
srun and scontrol that run the array on the local machine.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from datatrove.executor import SlurmPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from pipeline.config.params import ConfigError
from pipeline.execution.settings import ExecutorSettings

log = logging.getLogger(__name__)


class JobIds:
    """datatrove's `job_id_retriever`: the job id from sbatch's answer, kept for the wait."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def __call__(self, sbatch_output: str) -> str:
        job_id = sbatch_output.split()[-1]
        self.ids.append(job_id)
        return job_id


class ArrayExecutor(SlurmPipelineExecutor):
    """datatrove's Slurm executor without its merge-stats job (the stage keeps its own stats;
    that job would wait forever on an array with a failed task)."""

    def launch_merge_stats(self) -> None:
        return None


def run_slurm(
    name: str, steps: Sequence[PipelineStep], tasks: int, logs: Path, settings: ExecutorSettings
) -> dict[int, str]:
    """Submit, wait; return what sacct says of each array task, by rank (for the error)."""
    for tool in ("sbatch", "squeue", "sacct"):
        if shutil.which(tool) is None:
            raise ConfigError(
                f"run settings say `executor.kind: slurm` but `{tool}` is not on PATH: run the "
                "stage on a Slurm login node, or set `executor.kind: local` in run.yaml"
            )
    s = settings.slurm
    ids = JobIds()
    executor = ArrayExecutor(
        list(steps),
        tasks=tasks,
        time=s.time,
        partition=s.partition,
        cpus_per_task=s.cpus_per_task,
        mem_per_cpu_gb=s.mem_per_cpu_gb,
        workers=settings.workers,
        job_name=f"msm-{name.replace(' ', '-')}",
        qos=s.qos,
        env_command=s.env_command or None,
        sbatch_args=dict(s.sbatch_args),
        logging_dir=str(logs),
        skip_completed=True,
        job_id_retriever=ids,
        with_srun=s.srun,
    )
    executor.run()
    if not ids.ids:
        return {}  # every task had completed already
    log.info("%s: submitted Slurm job(s) %s; waiting", name, ", ".join(ids.ids))
    wait(ids.ids, s.poll_seconds)
    return task_states(ids.ids, logs, executor.max_array_size, Path(executor.slurm_logs_folder))


def wait(job_ids: Sequence[str], poll_seconds: float) -> None:
    """Until squeue lists none of the jobs (pending or running)."""
    waiting, failures = list(job_ids), 0
    while waiting:
        still = []
        for job in waiting:
            proc = subprocess.run(
                ["squeue", "-h", "-o", "%i %T", "-j", job],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode and "invalid job id" not in proc.stderr.lower():
                failures += 1
                if failures >= 5:
                    raise RuntimeError(
                        f"squeue failed {failures} times: {proc.stderr.strip()}; check the jobs "
                        f"with `sacct -j {','.join(job_ids)}`"
                    )
                still.append(job)
            elif not proc.returncode and proc.stdout.strip():  # else: done, or left the queue
                still.append(job)
                log.info("slurm job %s: %d line(s) in squeue", job, len(proc.stdout.splitlines()))
        waiting = still
        if waiting:
            time.sleep(poll_seconds)


def task_states(
    job_ids: Sequence[str], logs: Path, max_array_size: int, slurm_logs: Path
) -> dict[int, str]:
    """For each rank that Slurm ran: its sacct state, exit code and Slurm log file."""
    ranks_file = logs / "ranks_to_run.json"
    if not ranks_file.is_file():
        return {}
    ranks = json.loads(ranks_file.read_text())
    proc = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-j", ",".join(job_ids), "--format=JobID,State,ExitCode"],
        capture_output=True,
        text=True,
        check=False,
    )
    out: dict[int, str] = {}
    for line in proc.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 3 or "_" not in parts[0]:
            continue
        job, _, index = parts[0].partition("_")
        if job not in job_ids or not index.isdigit():
            continue
        k = job_ids.index(job) * max_array_size + int(index)
        if k < len(ranks):
            out[ranks[k]] = (
                f"Slurm {parts[0]} {parts[1]} (exit {parts[2]}), "
                f"Slurm log {slurm_logs / f'{job}_{index}.out'}"
            )
    return out
