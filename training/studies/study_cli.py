"""`msm study NAME`: queue one of the paper's studies (studies/NAME.yaml) as DVC experiments.

Each experiment (spec x variant x seed) becomes a `dvc exp run --queue` entry named
`NAME-<spec>-<variant>-s<seed>`, on the CPU smoke profile by default or the GPU profile with
`--gpu`; every experiment's params are validated before the first is queued. Then:

    dvc queue start -j 1      # runs them in the background; `dvc queue status` shows progress
    msm compare NAME          # mean ± SEM over seeds, per experiment group and arm
    msm report                # the HTML report, corpus and experiments

`msm study` alone lists the studies; `--print` prints the `dvc exp run` lines, queueing nothing.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

from pipeline.errors import ConfigError
from training.studies.queue import queue
from training.studies.study import load_study, plan

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", help="study name (studies/<name>.yaml); none: list them")
    p.add_argument("--gpu", action="store_true", help="the study's GPU target, not CPU smoke")
    p.add_argument("--seeds", type=int, help="only the first SEEDS of the study's seeds")
    p.add_argument("--print", action="store_true", help="print the queue lines; queue nothing")
    p.add_argument("--studies", type=Path, default=Path("studies"))
    p.add_argument("--params", type=Path, default=Path("params.yaml"))


def run(args: argparse.Namespace) -> None:
    if not args.name:
        for path in sorted(args.studies.glob("*.yaml")):
            print(f"{path.stem:16} {load_study(path.stem, args.studies).title}")
        return
    study = load_study(args.name, args.studies)
    if args.seeds is not None:
        if not 0 < args.seeds <= len(study.seeds):
            raise ConfigError(f"--seeds {args.seeds}: the study has {len(study.seeds)} seeds")
        study = replace(study, seeds=study.seeds[: args.seeds])
    where = args.studies / f"{args.name}.yaml"
    experiments = plan(
        args.name, study, gpu=args.gpu, params_path=args.params, studies=args.studies
    )
    if args.print:
        for exp in experiments:
            print(exp.command(where))
        return
    queue(experiments, where)
    groups = len(experiments) // len(study.seeds)
    print(
        f"queued {len(experiments)} experiments of {args.name!r} ({groups} groups x "
        f"{len(study.seeds)} seeds, {'GPU' if args.gpu else 'CPU smoke'}).\n"
        "run them:  dvc queue start -j 1  (progress: dvc queue status; logs: dvc queue logs NAME)\n"
        f"then:      msm compare {args.name}"
    )
