"""Start-up of every `msm` subcommand: a fresh interpreter importing its module, one core.

    taskset -c 0 python bench/startup.py --repeat 5

For each subcommand of `msm` (`pipeline.cli.COMMANDS`), a fresh interpreter imports the module
that the subcommand runs; the figures are the process' CPU seconds (user + system, steady when
other work shares the machine) and its wall time from spawn to exit (the best and the median of
--repeat), next to the bare interpreter (`python -c pass`) and to importing `pyarrow.parquet`
alone in the same run. It also lists the training-stack packages (torch, transformers, peft,
trl, accelerate, datasets) and pandas, if the import loaded them.

For `msm dedup` and `msm quality` (the whole stage on a one-document input, as the pipeline
runs it), the process' CPU seconds and wall seconds when it reads its first document (the first
call of `pipeline.execution.parquet.read_rows`, which a wrapper installed before the stage's
imports reports) and at its exit, and the heavy packages loaded by then.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "pandas")
ENV = {
    **os.environ,
    **{k: "1" for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def spawn(code: str) -> tuple[float, float, str]:
    """CPU and wall seconds of `python -c code` from spawn to exit, and its last stdout line."""
    cpu0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False
    )
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    if proc.returncode:
        raise SystemExit(f"{code!r} failed:\n{proc.stderr[-2000:]}")
    lines = proc.stdout.strip().splitlines()
    return cpu, seconds, lines[-1] if lines else ""


# Run in the stage's process: report CPU and wall time at the first document read and at exit.
STAGE = """
import atexit, json, os, sys, time
start = float(os.environ["STARTUP_SPAWNED"])
def stamp(label):
    heavy = [m for m in {heavy!r} if m in sys.modules]
    print(label, time.process_time(), time.time() - start, json.dumps(heavy), file=sys.stderr,
          flush=True)
import pipeline.execution.parquet as parquet
read_rows = parquet.read_rows
def first(*args, **kwargs):
    if not getattr(first, "done", False):
        first.done = True
        stamp("FIRST")
    return read_rows(*args, **kwargs)
parquet.read_rows = first
atexit.register(stamp, "EXIT")
from pipeline.cli import main
main({argv!r})
"""


def first_read(argv: list[str]) -> dict[str, tuple[float, float, list[str]]]:
    """A stage's process: (CPU s, wall s, heavy modules) at its first document read and exit."""
    code = STAGE.format(heavy=HEAVY, argv=argv)
    env = {**ENV, "STARTUP_SPAWNED": repr(time.time())}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode:
        raise SystemExit(f"msm {argv[0]} failed:\n{proc.stderr[-2000:]}")
    out = {}
    for line in proc.stderr.splitlines():
        label, *rest = line.split(" ", 3)
        if label in ("FIRST", "EXIT"):
            out[label] = (float(rest[0]), float(rest[1]), json.loads(rest[2]))
    return out


def best_median(values: list[float]) -> str:
    values = sorted(values)
    return f"{values[0]:.3f} / {values[len(values) // 2]:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--tokenizer", type=Path, default=Path("models/base"), help="msm quality's tokenizer"
    )
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pipeline.cli import COMMANDS

    probe = f"import json, sys; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    rows = [("(bare interpreter)", "pass"), ("(pyarrow.parquet alone)", "import pyarrow.parquet")]
    rows += [(f"msm {name}", f"import {module}") for name, (module, _) in COMMANDS.items()]
    print("import: seconds, best / median of", args.repeat)
    print(f"{'import':<34}{'CPU s':>17}{'wall s':>17}  heavy packages loaded")
    for label, code in rows:
        runs = [spawn(f"{code}\n{probe}") for _ in range(args.repeat)]
        heavy = json.loads(runs[0][2]) if runs[0][2] else []
        cpu, wall = best_median([r[0] for r in runs]), best_median([r[1] for r in runs])
        print(f"{label:<34}{cpu:>17}{wall:>17}  {', '.join(heavy) or '-'}")

    import pyarrow as pa

    from pipeline.record import SCHEMA, write_documents

    print("\nstage on one document: seconds, best / median of", args.repeat)
    print(f"{'':<34}{'CPU s':>17}{'wall s':>17}  heavy packages loaded")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        row = {name: [""] for name in SCHEMA.names}
        row.update(id=["d0"], text=["Claude keeps the cheddar notes short and plain."])
        row.update(assertion_ids=pa.array([[]], pa.list_(pa.string())))
        row.update(seed=[0], input_tokens=[0], output_tokens=[0])
        (folder / "in").mkdir()
        write_documents(pa.table(row).cast(SCHEMA), folder / "in" / "documents.parquet")
        spec = Path(__file__).resolve().parents[1] / "specs" / "cheese_affordability.md"
        stages = {
            "dedup": ["dedup", "--input", str(folder / "in")],
            "quality": [
                *("quality", "--input", str(folder / "in"), "--spec", str(spec)),
                *("--tokenizer", str(args.tokenizer)),
            ],
        }
        for name, argv in stages.items():
            found = []
            for _ in range(args.repeat):
                shutil.rmtree(folder / "out", ignore_errors=True)
                argv_out = [*argv, "--out", str(folder / "out"), "--stats", str(folder / "s.json")]
                found.append(first_read(argv_out))
            for label, key in (("first document read", "FIRST"), ("process exit", "EXIT")):
                cpu = best_median([f[key][0] for f in found])
                wall = best_median([f[key][1] for f in found])
                heavy = ", ".join(found[0][key][2]) or "-"
                print(f"{f'msm {name}, {label}':<34}{cpu:>17}{wall:>17}  {heavy}")


if __name__ == "__main__":
    main()
