"""`run.yaml` `executor:`: how the corpus steps run (datatrove executor kind, tasks, workers).

Run settings: they change how fast, never what, a stage produces (outputs are byte-identical for
any kind, task count and worker count), so they are not DVC params. Parsed and validated here;
`pipeline.runconfig` reads the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pipeline.config import ConfigError

KINDS = ("local", "ray", "slurm")


@dataclass(frozen=True)
class RaySettings:
    """Ray: where the cluster is and what each task reserves."""

    address: str = ""
    """Empty: start a local Ray instance for the run; `auto` or `ray://host:port`: join a
    running cluster (its nodes must see the work folder and the repository)."""
    cpus_per_task: int = 1
    mem_per_cpu_gb: float = 2.0


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


@dataclass(frozen=True)
class ExecutorSettings:
    """How corpus steps (dedup, quality) run: datatrove executor kind, tasks and workers."""

    kind: str = "local"
    """local, ray or slurm."""
    tasks: int = 2
    """Shards of the input, one datatrove task each."""
    workers: int = 1
    """Tasks run at once (local: processes; ray: concurrent tasks; slurm: array throttle)."""
    ray: RaySettings = field(default_factory=RaySettings)
    slurm: SlurmSettings = field(default_factory=SlurmSettings)


def parse_executor(value: Any, path: Path) -> ExecutorSettings:
    """The `executor:` mapping of run.yaml (absent: the defaults)."""
    raw = _section(value, "executor", ExecutorSettings, path)
    kind = raw.get("kind", "local")
    if kind not in KINDS:
        raise ConfigError(
            f"{path}: `executor.kind` must be one of {', '.join(KINDS)}, got {kind!r}"
        )
    ray = _section(raw.get("ray"), "executor.ray", RaySettings, path)
    slurm = _section(raw.get("slurm"), "executor.slurm", SlurmSettings, path)
    sbatch = slurm.get("sbatch_args", {})
    if not isinstance(sbatch, dict):
        raise ConfigError(f"{path}: `executor.slurm.sbatch_args` must be a mapping")
    if not isinstance(slurm.get("srun", True), bool):
        raise ConfigError(f"{path}: `executor.slurm.srun` must be true or false")
    settings = ExecutorSettings(
        kind=kind,
        **_typed(raw, "executor", {"tasks": int, "workers": int}, path),
        ray=RaySettings(
            **_typed(
                ray,
                "executor.ray",
                {"address": str, "cpus_per_task": int, "mem_per_cpu_gb": float},
                path,
            )
        ),
        slurm=SlurmSettings(
            **_typed(
                slurm,
                "executor.slurm",
                {
                    "partition": str,
                    "time": str,
                    "qos": str,
                    "env_command": str,
                    "cpus_per_task": int,
                    "mem_per_cpu_gb": int,
                    "poll_seconds": float,
                },
                path,
            ),
            sbatch_args={str(k): str(v) for k, v in sbatch.items()},
            srun=slurm.get("srun", True),
        ),
    )
    if kind == "slurm" and not settings.slurm.partition:
        raise ConfigError(
            f"{path}: `executor.slurm.partition` is required when `executor.kind` is slurm"
        )
    return settings


def _section(value: Any, key: str, cls: type, path: Path) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: `{key}` must be a mapping")
    known = [f.name for f in fields(cls)]
    for k in value:
        if k not in known:
            raise ConfigError(f"{path}: unknown key `{key}.{k}`; known keys: {', '.join(known)}")
    return value


def _typed(raw: dict, key: str, types: dict[str, type], path: Path) -> dict:
    """The keys of `types` present in `raw`: strings, or positive integers and numbers."""
    out: dict[str, Any] = {}
    for k, t in types.items():
        if k not in raw:
            continue
        v = raw[k]
        if t is str:
            if not isinstance(v, str):
                raise ConfigError(f"{path}: `{key}.{k}` must be a string, got {v!r}")
            out[k] = v
            continue
        allowed = int if t is int else (int, float)
        if not isinstance(v, allowed) or isinstance(v, bool) or v <= 0:
            what = "a positive integer" if t is int else "a positive number"
            raise ConfigError(f"{path}: `{key}.{k}` must be {what}, got {v!r}")
        out[k] = t(v)
    return out
