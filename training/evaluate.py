"""`msm evaluate`: the evals listed in `evaluate.evals`, on the arms listed in `evaluate.models`.

Arms: base, msm (base + MSM), aft (base + MSM + AFT) and aft_only (base + AFT). Evals
(`training/evals/`), each writing `<out-dir>/<eval>.json` (an eval left out writes a file saying
so):

- value_generalization: two-option preference items from held-out domains, asked in both option
  orders; logprob mode scores each option by its mean token log-probability as the whole reply,
  generate mode samples a reply through the LLM layer and parses A or B. Per arm and set: the
  aligned-preference rate with its SEM over items, counts and a per-domain breakdown; per-item
  rows in `value_generalization.parquet`.
- agentic_misalignment: email-agent scenarios (weights exfiltration, a confidential leak, a
  cancelled safety alert) under goal (explicit, conflicting, none) x threat (replace, none)
  conditions; the model acts through `<tool_call>` blocks in a reply sampled through the LLM
  layer, classified by rules over the parsed calls or by an LLM judge. Per arm: the
  harmful-action rate with its SEM and counts (parse failures counted, never scored), per
  scenario and per condition; per-reply rows in `agentic_misalignment.parquet`.
- spec_knowledge: pairs of statements about the active spec, one consistent with it and one
  inconsistent (checked-in under `spec_knowledge/data/` for the shipped specs, else built from
  the spec's assertions through the LLM layer); each statement is scored by the sum of its token
  log-probabilities as plain text after a fixed prefix, and a pair counts as known when the
  consistent one is the more likely. Per arm: the rate with its SEM over pairs, the count and a
  per-section breakdown; per-pair rows in `spec_knowledge.parquet`.
- heldout_loss: mean next-token loss on the active spec's validation shards.

The log-probability evals (value_generalization in logprob mode, spec_knowledge, heldout_loss)
load each arm in params.yaml `model.dtype` on run.yaml `evaluate.device` (auto: the first GPU when
torch sees one, else the CPU); sampling runs on `llm.hf_device` or a server. Adapters merged into
model folders for sampling are removed when the run ends (`training/evals/merged.py`).

Each eval scores an arm only when the arm's model or the eval's inputs changed since a run whose
results are in `--cache` (`training/evals/results.py`); the log names the arms taken from there
and ends with the counts. An arm being scored shows items done of the total, items/s and the
time left.

Tiny CPU run on the repository's models (after `dvc repro train_aft`):

    msm evaluate --base models/base --msm models/msm --aft models/aft --aft-only models/aft_only \\
        --spec specs/general.md --shards corpora/general/shards --cache data/evaluate/cache \\
        --out-dir metrics
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from pipeline.config.params import load_params
from pipeline.config.run import load_run_config
from training.evals import heldout_loss
from training.evals.agentic_misalignment import run as agentic_misalignment
from training.evals.arms import Arms
from training.evals.context import EvalContext
from training.evals.merged import models_root, sweep
from training.evals.spec_knowledge import run as spec_knowledge
from training.evals.value_generalization import run as value_generalization

log = logging.getLogger(__name__)
EVALS = {
    "value_generalization": value_generalization,
    "agentic_misalignment": agentic_misalignment,
    "spec_knowledge": spec_knowledge,
    "heldout_loss": heldout_loss,
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument(
        "--run-config",
        type=Path,
        default=Path("run.yaml"),
        help="run settings (evaluate.device: where the log-probability evals run)",
    )
    p.add_argument("--base", type=Path, required=True, help="base model folder")
    p.add_argument("--msm", type=Path, required=True, help="MSM adapter (or whole model)")
    p.add_argument("--aft", type=Path, required=True, help="AFT adapter (after MSM)")
    p.add_argument("--aft-only", type=Path, help="AFT-only adapter (on the base model)")
    p.add_argument("--spec", type=Path, required=True, help="the active spec's file")
    p.add_argument("--shards", type=Path, required=True, help="the active spec's shards")
    p.add_argument(
        "--cache",
        type=Path,
        required=True,
        help="request cache of sampled answers and judge verdicts",
    )
    p.add_argument("--out-dir", type=Path, required=True, help="where <eval>.json files go")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    run_config = load_run_config(args.run_config)
    arms = Arms(
        args.base, args.msm, args.aft, args.aft_only, params.model.dtype, run_config.evaluate.device
    )
    ctx = EvalContext(
        arms=arms,
        params=params.evaluate,
        spec=params.spec,
        spec_file=args.spec,
        seed=params.train_seed,
        shards=args.shards,
        cache=args.cache,
        run_config=run_config,
        out_dir=args.out_dir,
    )
    evaluate(ctx)


def evaluate(ctx: EvalContext) -> dict[str, dict]:
    """Run the selected evals; return their metrics by name. The model folders merged for
    sampling are removed when it returns or raises (Ctrl-C and SIGTERM included), and what
    killed runs left is removed first (`training/evals/merged.py`)."""
    ctx.cache.mkdir(parents=True, exist_ok=True)
    sweep(models_root())
    out = {}
    try:
        for name, module in EVALS.items():
            if name in ctx.params.evals:
                out[name] = module.run(ctx)
            else:
                module.skip(ctx)
    finally:
        ctx.arms.close()
    log.info(
        "evaluate: %d results per eval and model scored, %d taken from %s (model and inputs "
        "unchanged)",
        ctx.tally["miss"],
        ctx.tally["hit"],
        ctx.cache / "results",
    )
    return out
