"""`msm compare [STUDY]`: the experiments' eval headlines as mean ± SEM over seeds, one table.

Reads `dvc exp show --json` (or a saved copy with `--from`), groups the experiments that differ
only in `train_seed` (training/studies/aggregate.py says how) and prints, per group and arm, each
headline metric as `mean ± SEM (seeds)`. Runs that failed or have not run yet are counted under
the table. `--json` prints the same figures for scripts.

    msm study cheese && dvc queue start -j 1   # ... wait for `dvc queue status`
    msm compare cheese
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.errors import InputError
from training.studies.aggregate import Group, group_runs
from training.studies.runs import parse_runs, read_runs

ARMS = ("base", "msm", "aft", "aft_only")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", nargs="?", default="", help="only experiments named <study>-...")
    p.add_argument("--from", dest="source", type=Path, help="a saved `dvc exp show --json`")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> None:
    if args.source:
        try:
            runs = parse_runs(json.loads(args.source.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as err:
            raise InputError(f"{args.source}: not a `dvc exp show --json` file: {err}") from None
    else:
        runs = read_runs()
    prefix = f"{args.study}-" if args.study else ""
    groups = group_runs(runs, prefix)
    if not groups:
        where = f"named {prefix}*" if prefix else "in this repository"
        raise InputError(
            f"no experiments {where}; queue a study with `msm study NAME` and run it with "
            "`dvc queue start`"
        )
    if args.json:
        json.dump([as_dict(g) for g in groups], sys.stdout, indent=2)
        print()
    else:
        render(groups, Console(width=max(120, Console().width)))


def as_dict(group: Group) -> dict:
    return {
        "group": group.label,
        "seeds": group.seeds,
        "missing": dict(group.missing),
        "metrics": {
            f"{metric}:{arm}": {"mean": c.mean, "sem": c.sem, "seeds": c.seeds}
            for (metric, arm), c in sorted(group.cells.items())
        },
    }


def render(groups: list[Group], console: Console) -> None:
    metrics = sorted({m for g in groups for m, _ in g.cells})
    table = Table(title="mean ± SEM over seeds (seeds)", show_lines=False)
    table.add_column("experiment group", overflow="fold")
    table.add_column("arm")
    for metric in metrics:
        table.add_column(metric, justify="right")
    for group in groups:
        arms = sorted({a for _, a in group.cells}, key=arm_order)
        for i, arm in enumerate(arms):
            row = [group.label if i == 0 else "", arm]
            for metric in metrics:
                c = group.cells.get((metric, arm))
                row.append(format_cell(c.mean, c.sem, c.seeds) if c else "")
            table.add_row(*row, end_section=i == len(arms) - 1)
    console.print(table)
    for group in groups:
        if group.missing:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(group.missing.items()))
            console.print(f"{group.label}: {counts} (not in the figures)")


def format_cell(mean: float, sem: float | None, seeds: int) -> str:
    spread = f" ± {sem:.3f}" if sem is not None else ""
    return f"{mean:.3f}{spread} ({seeds})"


def arm_order(arm: str) -> tuple[int, str]:
    return (ARMS.index(arm) if arm in ARMS else len(ARMS), arm)
