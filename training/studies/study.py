"""A study: the experiments of one of the paper's comparisons, as `dvc exp run --queue` entries.

`studies/<name>.yaml` crosses specs x variants x seeds. Each experiment is params.yaml with, in
order: the machine target's profile (`cpu` or `gpu`, each a `profiles/<name>.yaml` or none), the
target's own overlay, the study's `params`, the variant's overlay, then `spec` and `train_seed`.
The arms the paper compares inside one experiment (base, MSM only, AFT only, MSM + AFT) are its
`evaluate.models`; arms that need other training (AFT with or without its reasoning) are
variants. `{spec}` in a string value is the experiment's spec (`specs/{spec}.md`).

An experiment is named `<study>-<spec>-<variant>-s<seed>`; `msm compare <study>` groups the
experiments that differ only in `train_seed` and reports mean and SEM over the seeds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config.load import Source, load_file
from pipeline.config.overlay import load_overlay, merge, set_flags
from pipeline.config.params import SPEC_NAME, check_spec_files, params_from_mapping
from pipeline.errors import ConfigError

NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


@dataclass(frozen=True)
class Target:
    """How a study runs on one kind of machine."""

    profile: str
    """`profiles/<name>.yaml` laid over params.yaml first; empty: none."""
    params: dict = field(default_factory=dict)
    """Then these keys (an overlay shaped like params.yaml)."""


@dataclass(frozen=True)
class Reported:
    """A figure the paper reports, shown beside ours in `msm report`."""

    spec: str
    arm: str
    """base | msm | aft | aft_only"""
    metric: str
    """`<eval>` or `<eval>/<set>`, as `msm compare` names it."""
    value: float
    variant: str = ""
    """The variant it belongs to; empty: every variant."""
    note: str = ""
    """Where it comes from (model, figure)."""


@dataclass(frozen=True)
class Study:
    title: str
    description: str
    specs: list[str]
    seeds: list[int]
    variants: dict[str, dict]
    """name -> overlay (empty for the study's plain setting)."""
    params: dict
    """Overlay every experiment of the study takes."""
    cpu: Target
    gpu: Target
    reported: list[Reported] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.specs or not self.seeds or not self.variants:
            raise ValueError("`specs`, `seeds` and `variants` each need at least one entry")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"`seeds` lists a seed twice: {self.seeds}")
        for name in self.variants:
            if not NAME.match(name):
                raise ValueError(
                    f"variant name {name!r} in `variants` is not valid; use lowercase letters, "
                    "digits and '_' (it is part of experiment names)"
                )


@dataclass(frozen=True)
class Experiment:
    name: str
    spec: str
    variant: str
    seed: int
    overlay: dict
    """Everything the experiment sets over params.yaml."""

    def flags(self, path: Path) -> list[str]:
        return set_flags(self.overlay, path)

    def command(self, path: Path) -> str:
        return " ".join(["dvc exp run --queue", f"-n {self.name}", *self.flags(path)])


def load_study(name: str, studies: Path = Path("studies")) -> Study:
    path = studies / f"{name}.yaml"
    if not NAME.match(name) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in studies.glob("*.yaml"))) or "(none)"
        raise ConfigError(f"{path}: no such study; known studies in {studies}/: {known}")
    return load_file(path, Study)


def plan(
    name: str,
    study: Study,
    *,
    gpu: bool = False,
    params_path: Path = Path("params.yaml"),
    profiles: Path = Path("profiles"),
    specs_dir: Path = Path("specs"),
    studies: Path = Path("studies"),
) -> list[Experiment]:
    """The study's experiments, each checked: its params must pass params.yaml's validation."""
    where = studies / f"{name}.yaml"
    base = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    target = study.gpu if gpu else study.cpu
    head: dict = {}
    if target.profile:
        profile = profiles / f"{target.profile}.yaml"
        if not profile.is_file():
            raise ConfigError(f"{where}: profile {target.profile!r} has no file {profile}")
        head = load_overlay(profile)
    head = _lay(head, target.params)
    out = []
    for spec in study.specs:
        if not SPEC_NAME.match(spec):
            raise ConfigError(f"{where}: spec name {spec!r} is not valid")
        for variant, over in study.variants.items():
            overlay = _lay(_lay(head, study.params), over)
            overlay = _lay(_substitute(overlay, spec), {"spec": spec})
            for seed in study.seeds:
                exp = Experiment(
                    name=f"{name}-{spec}-{variant}-s{seed}",
                    spec=spec,
                    variant=variant,
                    seed=seed,
                    overlay=_lay(overlay, {"train_seed": seed}),
                )
                params = params_from_mapping(merge(base, exp.overlay, where), where)
                check_spec_files(params, specs_dir, Source(where, {}))
                out.append(exp)
    return out


def _lay(base: dict, over: dict) -> dict:
    """`over` laid over `base` (both overlays: no section check, that is params.yaml's job)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _lay(out[key], value)
        else:
            out[key] = value
    return out


def _substitute(tree: Any, spec: str) -> Any:
    if isinstance(tree, dict):
        return {k: _substitute(v, spec) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_substitute(v, spec) for v in tree]
    return tree.replace("{spec}", spec) if isinstance(tree, str) else tree
