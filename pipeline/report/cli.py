"""`msm report`: one self-contained HTML file on the corpora and the experiments.

    msm report                      # report.html: every spec in params.yaml, every experiment
    msm report --out study.html --spec rules --spec value_augmented

Per spec: the funnel (generated, after dedup, after quality, packed; documents and tokens), drop
reasons, coverage of sections and statements, document-type mix, length histograms and sample
documents. Per experiment group (`msm compare` groups): each eval headline per arm, mean ± 1 SEM
over seeds, with the paper's figures beside ours where the studies record them, and the training
curves of every run (a panel per stage: MSM, MSM + AFT, AFT only). The file opens offline:
plotly.js, styles and data are inline. What is not built yet is named in the report, with the
command that builds it.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from pipeline.config.params import load_params
from pipeline.report.corpus import read_corpus
from pipeline.report.experiments import read_experiments
from pipeline.report.page import Page, corpus_section, experiments_section

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("report.html"), help="the HTML file")
    p.add_argument("--spec", action="append", help="only this spec (repeatable); default: all")
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--studies", type=Path, default=Path("studies"))
    p.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    specs = args.spec or params.specs
    page = Page("MSM corpus and experiments report")
    page.add("<h1>MSM corpus and experiments report</h1>")
    page.add(
        "<nav>"
        + "".join(f"<a href='#corpus-{s}'>{s}</a>" for s in specs)
        + "<a href='#experiments'>experiments</a></nav>"
    )
    page.add("<h2>Corpora</h2>")
    for spec in specs:
        log.info("corpus %s", spec)
        corpus_section(page, read_corpus(spec, args.dvc_yaml))
    log.info("experiments")
    experiments_section(page, read_experiments(args.studies, args.dvc_yaml))
    tmp = args.out.with_name(f".{args.out.name}.tmp-{os.getpid()}")
    tmp.write_text(page.render(), encoding="utf-8")
    tmp.replace(args.out)
    log.info("wrote %s (%d figures)", args.out, page.figures)
