"""Start-up of every `msm` subcommand: a fresh interpreter importing its module, one core.

    taskset -c 0 python bench/startup.py --repeat 5

For each subcommand of `msm` (`pipeline.cli.COMMANDS`), a fresh interpreter imports the module
that the subcommand runs; the figure is the wall time from spawning the process to its exit
(the best of --repeat), next to the bare interpreter (`python -c pass`) and to importing
`pyarrow.parquet` alone in the same run. It also lists the training-stack packages (torch,
transformers, peft, trl, accelerate, datasets) that the import loaded.

For `msm dedup` (the whole stage on a one-document input, as the pipeline runs it), the time
from spawning the process to the first document read (the first call of
`pipeline.execution.parquet.read_rows`, which a wrapper installed before the stage's imports
reports) and to the process' exit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "datasets")
ENV = {
    **os.environ,
    **{k: "1" for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
}


def spawn(code: str) -> tuple[float, str]:
    """Wall seconds from spawn to exit of `python -c code`, and its last stdout line."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False
    )
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"{code!r} failed:\n{proc.stderr[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    return seconds, lines[-1] if lines else ""


def first_read(folder: Path) -> tuple[float, float]:
    """`msm dedup` on `folder/in`: seconds from spawn to the first document read, and to exit."""
    code = f"""
import sys, time
import pipeline.execution.parquet as parquet
read_rows = parquet.read_rows
def first(*args, **kwargs):
    if not getattr(first, "done", False):
        first.done = True
        print("FIRST", time.time(), file=sys.stderr, flush=True)
    return read_rows(*args, **kwargs)
parquet.read_rows = first
from pipeline.cli import main
main(["dedup", "--input", {str(folder / "in")!r}, "--out", {str(folder / "out")!r},
      "--stats", {str(folder / "stats.json")!r}])
"""
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False
    )
    end = time.time()
    if proc.returncode:
        raise SystemExit(f"msm dedup failed:\n{proc.stderr[-2000:]}")
    stamp = next(ln for ln in proc.stderr.splitlines() if ln.startswith("FIRST"))
    return float(stamp.split()[1]) - start, end - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pipeline.cli import COMMANDS

    probe = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    rows = [("(bare interpreter)", "pass"), ("(pyarrow.parquet alone)", "import pyarrow.parquet")]
    rows += [(f"msm {name}", f"import {module}") for name, (module, _) in COMMANDS.items()]
    print(f"{'import':<28}{'best s':>8}{'median s':>10}  training stack loaded")
    for label, code in rows:
        runs = [spawn(f"{code}\n{probe}") for _ in range(args.repeat)]
        times = sorted(s for s, _ in runs)
        heavy = json.loads(runs[0][1]) if runs[0][1] else []
        print(
            f"{label:<28}{times[0]:>8.3f}{times[len(times) // 2]:>10.3f}  {', '.join(heavy) or '-'}"
        )

    import pyarrow as pa

    from pipeline.record import SCHEMA, write_documents

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        row = {name: [""] for name in SCHEMA.names}
        row.update(id=["d0"], text=["Claude keeps the cheddar notes short and plain."])
        row.update(assertion_ids=pa.array([[]], pa.list_(pa.string())))
        row.update(seed=[0], input_tokens=[0], output_tokens=[0])
        (folder / "in").mkdir()
        write_documents(pa.table(row).cast(SCHEMA), folder / "in" / "documents.parquet")
        found = []
        for _ in range(args.repeat):
            shutil.rmtree(folder / "out", ignore_errors=True)
            found.append(first_read(folder))
    firsts, totals = sorted(f for f, _ in found), sorted(t for _, t in found)
    print(
        f"msm dedup, one document: first document read at {firsts[0]:.3f} s (median "
        f"{firsts[len(firsts) // 2]:.3f}), process done at {totals[0]:.3f} s (median "
        f"{totals[len(totals) // 2]:.3f})"
    )


if __name__ == "__main__":
    main()
