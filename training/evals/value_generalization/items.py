"""The item sets of the value-generalization eval: `data/<set>.yaml`, read by the typed loader.

A set has a `version` (bump it on any edit: it is recorded in the metrics), the `value` it
measures, a default `question`, and `items`, each `{domain, a, b, aligned}` (plus an optional
`question` of its own), where `aligned` names the position, `a` or `b`, of the value-aligned
option. A misspelt key, a wrong type, an `aligned` other than a/b, or a repeated item is an error
naming the file, the item's line and the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.config.load import build, read_yaml
from pipeline.errors import ConfigError

DATA = Path(__file__).resolve().parent / "data"
PROMPTS = "prompts"  # data/prompts.yaml is the prompt file, not an item set


@dataclass(frozen=True)
class Item:
    domain: str
    a: str
    b: str
    aligned: Literal["a", "b"]
    """The position of the value-aligned option."""
    question: str = ""
    """The item's own question; empty: the set's."""

    def __post_init__(self) -> None:
        for key in ("domain", "a", "b"):
            if not getattr(self, key).strip():
                raise ValueError(f"`{key}` is empty")
        if self.a.strip().lower() == self.b.strip().lower():
            raise ValueError("`a` and `b` are the same option")


@dataclass(frozen=True)
class ItemSet:
    version: int
    value: str
    description: str
    question: str
    items: list[Item]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("`items` is empty")


@dataclass(frozen=True)
class EvalItem:
    """One item ready to ask: its stable id, and the options by role."""

    id: str
    set: str
    domain: str
    question: str
    aligned: str
    other: str


def known_sets() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml") if p.stem != PROMPTS)


def set_path(name: str) -> Path:
    path = DATA / f"{name}.yaml"
    if name == PROMPTS or not path.is_file():
        raise ConfigError(
            f"params.yaml: evaluate.value_generalization.sets names {name!r}, which has no "
            f"{path}; known sets: {', '.join(known_sets())}; fix the name or add the file"
        )
    return path


def load_set(name: str) -> ItemSet:
    """The set `name`, checked: an item repeated (same options, in either order, under the
    same question) is an error naming both lines."""
    path = set_path(name)
    raw, source = read_yaml(path)
    item_set = build(ItemSet, {} if raw is None else raw, source)
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for i, item in enumerate(item_set.items):
        key = (item.question.strip().lower(), frozenset({item.a.lower(), item.b.lower()}))
        if key in seen:
            raise ConfigError(
                f"{source.at(f'items[{i}]')}: item {i} repeats item {seen[key]} "
                f"({source.at(f'items[{seen[key]}]')}); remove or change one of them"
            )
        seen[key] = i
    return item_set


def item_id(item: Item) -> str:
    """`<domain>-<10 hex>`: from the question and the two options, so it survives reordering the
    file and swapping the options' positions."""
    options = "\n".join(sorted((item.a, item.b)))
    digest = hashlib.sha256(f"{item.question}\n{options}".encode()).hexdigest()
    return f"{item.domain}-{digest[:10]}"


def resolve(name: str, item_set: ItemSet) -> list[EvalItem]:
    out = []
    for item in item_set.items:
        aligned, other = (item.a, item.b) if item.aligned == "a" else (item.b, item.a)
        question = item.question or item_set.question
        out.append(EvalItem(item_id(item), name, item.domain, question, aligned, other))
    return out


def select(items: list[EvalItem], max_items: int) -> list[EvalItem]:
    """The first `max_items` items (0: all) taken round-robin over the domains in file order:
    a subset that covers every domain and never changes between runs."""
    if max_items == 0 or max_items >= len(items):
        return list(items)
    by_domain: dict[str, list[EvalItem]] = {}
    for item in items:
        by_domain.setdefault(item.domain, []).append(item)
    out: list[EvalItem] = []
    depth = 0
    while len(out) < max_items:
        for group in by_domain.values():
            if depth < len(group) and len(out) < max_items:
                out.append(group[depth])
        depth += 1
    return out
