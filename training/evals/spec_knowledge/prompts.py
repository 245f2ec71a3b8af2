"""The spec-knowledge templates (`data/prompts.yaml`): the scoring prefix and the build prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config.load import load_file
from pipeline.io import sha256_file
from pipeline.spec import Spec

PROMPTS = Path(__file__).resolve().parent / "data" / "prompts.yaml"


@dataclass(frozen=True)
class Prompts:
    version: int
    prefix: str
    """What each statement follows when it is scored (fields: model_name, provider_name)."""
    build: str
    """The request for one pair from one assertion (fields: model_name, provider_name,
    section, assertion, max_word_gap)."""

    def __post_init__(self) -> None:
        if not self.prefix.strip():
            raise ValueError("`prefix` is empty: the first statement token needs a context")
        for field in ("{assertion}", "{section}", "{max_word_gap}"):
            if field not in self.build:
                raise ValueError(f"`build` lacks the field {field}")


def load_prompts(path: Path = PROMPTS) -> tuple[Prompts, str]:
    """The templates and the sha256 of their file (recorded in the metrics)."""
    return load_file(path, Prompts), sha256_file(path)


def prefix(prompts: Prompts, spec: Spec) -> str:
    return prompts.prefix.format(model_name=spec.model_name, provider_name=spec.provider_name)
