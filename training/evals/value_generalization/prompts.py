"""The prompt templates (`data/prompts.yaml`) and how an item is put to the model in one order."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config.load import load_file
from pipeline.io import sha256_file
from training.evals.value_generalization.items import DATA, PROMPTS, EvalItem

ORDERS = ("aligned_first", "aligned_second")
"""Every item is asked twice, the value-aligned option listed first (A), then second (B)."""


@dataclass(frozen=True)
class Prompts:
    version: int
    choice: str
    """logprob mode: the reply scored is an option's own text."""
    letter: str
    """generate mode: the reply is parsed for A or B."""

    def __post_init__(self) -> None:
        for key in ("choice", "letter"):
            for field in ("{question}", "{first}", "{second}"):
                if field not in getattr(self, key):
                    raise ValueError(f"`{key}` lacks the field {field}")


def load_prompts() -> tuple[Prompts, str]:
    """The templates and the sha256 of their file (recorded in the metrics)."""
    path = DATA / f"{PROMPTS}.yaml"
    return load_file(path, Prompts), sha256_file(path)


def options(item: EvalItem, order: str) -> tuple[str, str]:
    """(first, second) as listed for `order`."""
    return (item.aligned, item.other) if order == ORDERS[0] else (item.other, item.aligned)


def render(template: str, item: EvalItem, order: str) -> str:
    first, second = options(item, order)
    return template.format(question=item.question, first=first, second=second)
