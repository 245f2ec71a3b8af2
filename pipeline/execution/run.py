"""Run one corpus step as datatrove tasks with the executor that `run.yaml` names, to the end.

`run_step(name, steps, tasks, folder, settings)` runs the datatrove pipeline `steps` as `tasks`
tasks (each step reads `rank` and `world_size` to pick its shard) and returns only when every
task has a completion marker; otherwise it raises `ExecutionError` naming the failed tasks and
their log files. Completed tasks of an earlier, interrupted run in the same folder are skipped.

- `local`: `LocalPipelineExecutor`, `workers` processes (one: the tasks run in this process);
- `ray`: `RayPipelineExecutor` on the Ray cluster at `executor.ray.address`, or on a local Ray
  instance started for the step (an instance this process already runs is used as it is);
- `slurm`: `SlurmPipelineExecutor` submits a job array and returns; `pipeline.execution.slurm`
  then waits for the array and checks every task.

Ctrl-C reaches the whole process group: local worker processes ignore it, and the parent alone
stops (`pipeline.interrupt`), terminating its workers, so no worker prints a traceback; the
completion markers keep every task that finished.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from pipeline.errors import Incomplete
from pipeline.execution.settings import ExecutorSettings, RaySettings

log = logging.getLogger(__name__)


def _workers_ignore_ctrl_c() -> None:
    """Start the forkserver that datatrove's worker pool forks from with SIGINT ignored: a
    process started with it ignored keeps ignoring it, and so do the workers forked from it."""
    import multiprocess.forkserver

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocess.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


class _LocalExecutor(LocalPipelineExecutor):
    """datatrove's local executor, with its per-task console banners (the pipeline, "processing
    done", a stats table: about ten lines a task) only when asked for (`msm -v`). datatrove prints
    a task's log to the console only for local rank 0; a quiet run gives every task another
    rank, so only its errors reach the console. Every line still goes to the task's log file."""

    def __init__(self, *args, console_logs: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.console_logs = console_logs

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        shown = local_rank if self.console_logs else local_rank + 1
        return super()._run_for_rank(rank, shown, node_rank)


class ExecutionError(Incomplete):
    """Tasks of a step did not complete; the message names them and their logs."""


def run_step(
    name: str,
    steps: Sequence[PipelineStep],
    tasks: int,
    folder: Path,
    settings: ExecutorSettings,
) -> None:
    logs = folder / "logs"
    log.info("%s: %d task(s) on the %s executor (%s)", name, tasks, settings.kind, logs)
    extra: dict[int, str] = {}
    if settings.kind == "local":
        if settings.workers > 1 and tasks > 1:
            _workers_ignore_ctrl_c()
        _LocalExecutor(
            list(steps),
            tasks=tasks,
            workers=min(settings.workers, tasks),
            logging_dir=str(logs),
            skip_completed=True,
            console_logs=log.isEnabledFor(logging.DEBUG),
        ).run()
    elif settings.kind == "ray":
        from datatrove.executor import RayPipelineExecutor

        with ray_session(settings.ray):
            RayPipelineExecutor(
                list(steps),
                tasks=tasks,
                workers=settings.workers,
                logging_dir=str(logs),
                skip_completed=True,
                cpus_per_task=settings.ray.cpus_per_task,
                mem_per_cpu_gb=settings.ray.mem_per_cpu_gb,
            ).run()
    else:
        from pipeline.execution.slurm import run_slurm

        extra = run_slurm(name, steps, tasks, logs, settings)
    failed = incomplete(logs, tasks)
    if failed:
        lines = [
            f"  task {r}: log {logs / 'logs' / f'task_{r:05d}.log'}"
            + (f"; {extra[r]}" if r in extra else "")
            for r in failed
        ]
        raise ExecutionError(
            f"{name}: {len(failed)} of {tasks} tasks failed ({settings.kind} executor):\n"
            + "\n".join(lines)
            + "\nfix the cause and rerun the stage: completed tasks are kept and skipped"
        )


def incomplete(logs: Path, tasks: int) -> list[int]:
    """Ranks without datatrove's completion marker."""
    return [r for r in range(tasks) if not (logs / "completions" / f"{r:05d}").is_file()]


@contextlib.contextmanager
def ray_session(settings: RaySettings) -> Iterator[None]:
    """Connect to (or start) Ray for the block, unless this process is connected already."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(address=settings.address or None, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()
