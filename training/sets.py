"""The AFT sets in `training/resources/`, read through the typed config loader.

`aft_<name>.yaml`: chats that state a preference (`pairs` of [preferred, dispreferred],
`questions` with `{a}`/`{b}`, `answers` with `{p}`/`{P}`/`{d}`). A misspelt key, a pair of the
wrong length or an unknown set name is an error naming the file, the line and the fix. (The eval
sets live with their evals, in `training/evals/`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config.load import load_file
from pipeline.errors import ConfigError

RESOURCES = Path(__file__).resolve().parent / "resources"


@dataclass(frozen=True)
class AftSet:
    description: str
    pairs: list[list[str]]
    """[preferred, dispreferred]"""
    questions: list[str]
    answers: list[str]

    def __post_init__(self) -> None:
        _pairs(self.pairs, 2, "[preferred, dispreferred]")
        if not self.questions or not self.answers:
            raise ValueError("`questions` and `answers` need at least one entry each")


def load_aft_set(name: str) -> AftSet:
    return load_file(_path("aft", name, "aft_data.set"), AftSet)


def _path(kind: str, name: str, key: str) -> Path:
    path = RESOURCES / f"{kind}_{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem.removeprefix(f"{kind}_") for p in RESOURCES.glob(f"{kind}_*.yaml"))
        raise ConfigError(
            f"params.yaml: {key} names {name!r}, which has no {path}; known sets: "
            f"{', '.join(known)}; fix the name or add the file"
        )
    return path


def _pairs(pairs: list[list[str]], n: int, shape: str) -> None:
    if not pairs:
        raise ValueError("`pairs` is empty")
    for i, pair in enumerate(pairs):
        if len(pair) != n:
            raise ValueError(f"`pairs` entry {i} has {len(pair)} items; each is {shape}")
