"""Two experiments at once on a small machine (`dvc queue start -j 2`): each process with its
share of the CPUs (`OMP_NUM_THREADS=1` on 2 cores, the README's line) next to each sizing its
pools to the whole machine (no variable set, what every process did before `pipeline/threads.py`
and still does when it is given the whole machine).

    python bench/queue_threads.py                 # 2 jobs, 6 MSM steps each, real base model
    python bench/queue_threads.py --jobs 2 --steps 10

Each mode starts `--jobs` `msm train-msm` processes at once on the same inputs as
`bench/thread_invariance.py` (the real SmolLM2 base, synthetic prose packed by `msm pack`, the
tiny profile with `--steps` steps) and reports the wall seconds until the last one finished and
the training steps per second over all jobs; then the ratio. The adapters of both modes are
compared too (they must be the same bytes). Run it on an otherwise idle machine: other jobs'
threads are the same contention this measures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from thread_invariance import ROOT, prepare


def jobs_at_once(root: Path, inputs: dict, jobs: int, omp: int | None, tag: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    if omp is not None:
        env["OMP_NUM_THREADS"] = str(omp)
    procs = []
    t0 = time.perf_counter()
    for j in range(jobs):
        out = root / f"{tag}-{j}"
        cmd = [sys.executable, "-m", "pipeline.cli", "train-msm",
               "--params", str(root / "params.yaml"), "--run-config", str(root / "run.yaml"),
               "--base", str(inputs["base"]), "--shards", str(inputs["shards"]),
               "--out", str(out / "msm"), "--metrics", str(out / "metrics")]  # fmt: skip
        job_env = dict(env, MSM_WORK_DIR=str(root / f"work-{tag}-{j}"))
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=job_env, stderr=subprocess.PIPE))
    for p in procs:
        err = p.communicate()[1]
        if p.returncode:
            sys.exit(f"train-msm failed:\n{err.decode()[-3000:]}")
    return time.perf_counter() - t0


def adapter(folder: Path) -> str:
    return hashlib.sha256((folder / "msm" / "adapter_model.safetensors").read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    cpus = len(os.sched_getaffinity(0))
    share = max(1, cpus // args.jobs)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="msm-queue-") as tmp:
        root = Path(tmp)
        inputs = prepare(root, aft=False)
        params = yaml.safe_load((root / "params.yaml").read_text())
        params["train_msm"]["max_steps"] = args.steps
        (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        whole = jobs_at_once(root, inputs, args.jobs, None, "whole")
        shared = jobs_at_once(root, inputs, args.jobs, share, "share")
        same = {adapter(root / f"{t}-{j}") for t in ("whole", "share") for j in range(args.jobs)}
    steps = args.jobs * args.steps
    print(f"cpus {cpus}, {args.jobs} jobs of {args.steps} MSM steps, load average before: "
          f"{load:.1f}")  # fmt: skip
    print(f"each job sized to the machine ({cpus} threads): {whole:7.1f} s  "
          f"{steps / whole:.3f} steps/s")  # fmt: skip
    print(f"each job given its share (OMP_NUM_THREADS={share}): {shared:7.1f} s  "
          f"{steps / shared:.3f} steps/s")  # fmt: skip
    print(f"ratio (machine-sized time / share time): {whole / shared:.2f}x")
    print(f"adapters identical across modes and jobs: {len(same) == 1}")


if __name__ == "__main__":
    main()
