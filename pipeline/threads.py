"""How many CPU threads one `msm` process uses, told to every library that keeps a thread pool.

Each library sizes its own pool from the machine, not from what the process was given: two
experiments run side by side (`dvc queue start -j 2`) on two cores each start pools for every
core, and their spinning threads slow both down many times over. So `msm` decides one budget and
exports it, before any library is imported, to the variables that size those pools:

- `OMP_NUM_THREADS`, `MKL_NUM_THREADS`, `OPENBLAS_NUM_THREADS`: torch's intra-op pool, numpy's
  BLAS, and Arrow's CPU pool (pyarrow reads OMP_NUM_THREADS);
- `RAYON_NUM_THREADS`: the Rust pools (Hugging Face tokenizers, rensa).

The budget is `OMP_NUM_THREADS` when it is set (the variable the numeric libraries already
respect), else the CPUs this process may run on (`os.sched_getaffinity`, which follows `taskset`
and cgroup cpusets, unlike `os.cpu_count`). A variable the user set keeps its value. For two
queued experiments on a 2-core machine:

    OMP_NUM_THREADS=1 dvc queue start -j 2

Outputs do not depend on it: the CPU default's training and evals give the same bytes with one
thread or two (`bench/thread_invariance.py` checks it on the real base model), and run.yaml's
`training.threads` still sets torch's count for the training stages.
"""

from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")


def budget(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """The CPU threads one process may use: a positive OMP_NUM_THREADS, else its CPUs."""
    given = environ.get("OMP_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity API (macOS)
        return os.cpu_count() or 1


def export(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """Set every pool-sizing variable the user left unset to `budget()`; return the budget.
    Must run before torch, numpy, pyarrow or tokenizers is imported."""
    n = budget(environ)
    for name in VARIABLES:
        if not environ.get(name, "").strip():
            environ[name] = str(n)
    return n
