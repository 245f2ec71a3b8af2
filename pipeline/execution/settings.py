"""`run.yaml` `executor:`: how the corpus steps run (datatrove executor kind, tasks, workers).

Run settings: they change how fast, never what, a stage produces (outputs are byte-identical for
any kind, task count and worker count), so they are not DVC params. `pipeline.config.run` reads
them from the file through the typed loader; the defaults below are the only ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.config.load import build, read_yaml


@dataclass(frozen=True)
class RaySettings:
    """Ray: where the cluster is and what each task reserves."""

    address: str = ""
    """Empty: start a local Ray instance for the run; `auto` or `ray://host:port`: join a
    running cluster (its nodes must see the work folder and the repository)."""
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0

    def __post_init__(self) -> None:
        _positive(self, "cpus_per_task", "mem_per_cpu_gb")


@dataclass(frozen=True)
class SlurmSettings:
    """Slurm: the job array's resources; the stage waits for the array and checks every task."""

    partition: str = ""
    """Required with kind `slurm`."""
    time: str = "04:00:00"
    """Time limit of each array task (sbatch --time)."""
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2
    """Whole gigabytes (sbatch --mem-per-cpu=<n>G)."""
    qos: str = ""
    env_command: str = ""
    """Shell line run before each task, e.g. `source .venv/bin/activate` (default: the
    submitting shell's environment, which sbatch exports)."""
    sbatch_args: dict[str, str] = field(default_factory=dict)
    """Extra `#SBATCH --key=value` lines, e.g. {account: my-account}."""
    srun: bool = True
    """Start each task through srun (as datatrove does)."""
    poll_seconds: float = 30.0
    """How often the stage asks squeue whether the array is done."""

    def __post_init__(self) -> None:
        _positive(self, "cpus_per_task", "mem_per_cpu_gb", "poll_seconds")


@dataclass(frozen=True)
class ExecutorSettings:
    """How corpus steps (dedup, quality) run: datatrove executor kind, tasks and workers."""

    kind: Literal["local", "ray", "slurm"] = "local"
    tasks: int = 2
    """Shards of the input, one datatrove task each."""
    workers: int = 1
    """Tasks run at once (local: processes; ray: concurrent tasks; slurm: array throttle)."""
    ray: RaySettings = field(default_factory=RaySettings)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)

    def __post_init__(self) -> None:
        _positive(self, "tasks", "workers")
        if self.kind == "slurm" and not self.slurm.partition:
            raise ValueError("`slurm.partition` is required when `kind` is slurm")


def _positive(obj: object, *names: str) -> None:
    for name in names:
        if getattr(obj, name) <= 0:
            raise ValueError(f"`{name}` must be > 0, got {getattr(obj, name)}")


def load_executor(path: Path) -> ExecutorSettings:
    """The `executor:` section of run.yaml (the defaults when the file or the section is absent).

    Only this section is read, so the corpus steps do not depend on the LLM layer's settings;
    the whole file is checked by `msm params` and by the stages that read the rest.
    """
    if not path.is_file():
        return ExecutorSettings()
    raw, source = read_yaml(path)
    section = raw.get("executor") if isinstance(raw, dict) else None
    return build(ExecutorSettings, section or {}, source, "executor")
