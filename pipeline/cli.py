"""The `msm` command: one subcommand per pipeline stage, plus spec and shard tools.

Stages take their paths from `dvc.yaml` arguments and their settings from `params.yaml`.
A subcommand's module is imported only when it runs, so `msm --help` stays fast. This is the one
place errors become exit codes (`EXIT_CODES`): 0 done; 1 a check found faults; 2 bad input or
configuration (nothing written); 3 stopped before finishing, everything done so far kept (re-run
to continue). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings

from llm.errors import BackendError
from pipeline import interrupt, threads
from pipeline.errors import CheckFailed, Incomplete, InputError

COMMANDS: dict[str, tuple[str, str]] = {
    "params": ("pipeline.params_cli", "validate params.yaml and run.yaml; --show prints them"),
    "profile": ("pipeline.profile_cli", "print the -S flags of a params profile (profiles/)"),
    "spec": ("pipeline.spec.cli", "lint and inspect specs"),
    "base-model": ("pipeline.base_model", "materialize the base model that model.name chooses"),
    "generate": ("pipeline.generate.stage", "plan and generate documents for one spec"),
    "dedup": ("pipeline.dedup.stage", "remove exact and near-duplicate documents"),
    "quality": ("pipeline.quality.stage", "filter documents and apply the token budget"),
    "pack": ("pipeline.pack.stage", "tokenize and pack documents into shards"),
    "verify": ("pipeline.pack.verify", "check a shard folder's checksums and structure"),
    "card": ("pipeline.card", "write a spec corpus's data card (README.md)"),
    "show": ("pipeline.show", "print a spec's documents, its funnel, or its rejects and why"),
    "export": ("pipeline.export", "write a corpus as Parquet plus its card, without DVC"),
    "remote": ("pipeline.remote", "check a DVC remote, then push or pull through it"),
    "cache": ("pipeline.cache_cli", "merge another commit's request caches into the workspace"),
    "train-msm": ("training.msm", "MSM: continued pretraining (LoRA or full) on a spec's shards"),
    "aft-data": ("training.aft_data", "build the AFT chats"),
    "train-aft": ("training.aft", "AFT: SFT continuing the MSM adapter"),
    "evaluate": ("training.evaluate", "value-generalization and held-out-loss evals"),
    "study": ("training.studies.study_cli", "queue a study (studies/): spec x variant x seed"),
    "compare": ("training.studies.compare", "eval metrics across seeds: mean ± SEM per group"),
    "report": ("pipeline.report.cli", "one self-contained HTML report: corpora and experiments"),
}

EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (CheckFailed, 1),
    (InputError, 2),
    (BackendError, 2),
    (FileNotFoundError, 2),
    (Incomplete, 3),
)


# Libraries whose deprecation notices about their own calls into each other (peft reading
# transformers' `is_gradient_checkpointing`, for one) we can neither fix nor act on.
LIBRARIES = ("transformers", "peft", "trl", "accelerate", "datasets", "torch", "datatrove")


def quiet_library_warnings() -> None:
    """Hide FutureWarnings and DeprecationWarnings attributed to a line inside `LIBRARIES`. A
    warning about a deprecated call of ours is attributed to our line (stacklevel), so it still
    shows; so does everything with `msm -v` or a `-W`/PYTHONWARNINGS of the user's."""
    if sys.warnoptions:
        return
    pattern = rf"({'|'.join(LIBRARIES)})(\.|$)"
    for category in (FutureWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category, module=pattern)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    # No model hub unless the user asks for one (HF_HUB_OFFLINE=0).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    threads.export()  # before any library sizes its thread pool (pipeline/threads.py)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    # datatrove logs through loguru, whose default console level is read once, at import: its
    # executor-level banners and stats tables are INFO, shown with -v (task logs keep them all).
    options = argv[: argv.index(chosen)] if chosen else argv
    verbose = "-v" in options or "--verbose" in options
    os.environ.setdefault("LOGURU_LEVEL", "INFO" if verbose else "WARNING")
    if not verbose:
        quiet_library_warnings()
        # Hugging Face's per-file bars ("Loading weights", once per model an eval loads); the
        # stages print their own progress with rates and ETAs
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = argparse.ArgumentParser(
        prog="msm", description="Model Spec Midtraining corpus factory and experiment stages."
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug logging, library warnings and progress bars, and the corpus steps' task "
        "logs on the console",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            module = importlib.import_module(module_name)
            p.description = (module.__doc__ or help_text).strip()
            p.formatter_class = argparse.RawDescriptionHelpFormatter
            module.add_arguments(p)
            p.set_defaults(func=module.run)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        with interrupt.handled(argv):  # Ctrl-C, SIGTERM: exit 130/143 with one line
            args.func(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except Exception as err:
        code = next((c for kind, c in EXIT_CODES if isinstance(err, kind)), None)
        if code is None:
            raise
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(code) from None


if __name__ == "__main__":
    main()
