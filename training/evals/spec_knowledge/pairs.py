"""Statement pairs: a statement consistent with the spec and one inconsistent with it.

A checked-in set is `data/<spec>.yaml`: a `version` (bump it on any edit: it is recorded in the
metrics), the `spec` it tests (the file's name), a `description`, and `pairs`, each
`{section, consistent, inconsistent}`. `section` is the id of the spec section the pair tests:
a heading section's id (`likes/cheddar`), `overview`, or a rule's id (`SP2`) in a rules spec.
Statements may write `{model_name}` and `{provider_name}`; the spec's values are filled in.

Every pair, checked-in or built (`check_pair`), must be a minimal pair: two different
statements whose word counts differ by at most `MAX_WORD_GAP`, so that the comparison measures
what the statements say, not how long they are. A set must not repeat a statement, and each
`section` must exist in the spec. A violation is an error naming the file, the pair's line and
the fix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.config.load import Source, build, read_yaml
from pipeline.errors import ConfigError
from pipeline.spec import Spec

DATA = Path(__file__).resolve().parent / "data"
PROMPTS = "prompts"  # data/prompts.yaml is the template file, not a pair set
MAX_WORD_GAP = 2
"""The most two statements of a pair may differ in word count."""


@dataclass(frozen=True)
class Pair:
    section: str
    consistent: str
    inconsistent: str

    def __post_init__(self) -> None:
        problem = check_pair(self.consistent, self.inconsistent)
        if problem:
            raise ValueError(problem)


@dataclass(frozen=True)
class PairSet:
    version: int
    spec: str
    description: str
    pairs: list[Pair]

    def __post_init__(self) -> None:
        if not self.pairs:
            raise ValueError("`pairs` is empty")


@dataclass(frozen=True)
class EvalPair:
    """One pair ready to score: its stable id, its section and both statements, rendered."""

    id: str
    section: str
    consistent: str
    inconsistent: str


def words(text: str) -> int:
    return len(text.split())


def check_pair(consistent: str, inconsistent: str) -> str | None:
    """Why two statements are not a usable minimal pair, or None when they are."""
    for key, text in (("consistent", consistent), ("inconsistent", inconsistent)):
        if not text.strip():
            return f"`{key}` is empty"
    if " ".join(consistent.lower().split()) == " ".join(inconsistent.lower().split()):
        return "`consistent` and `inconsistent` are the same statement"
    gap = abs(words(consistent) - words(inconsistent))
    if gap > MAX_WORD_GAP:
        return (
            f"the statements differ by {gap} words (at most {MAX_WORD_GAP}): match their "
            "lengths so that only what they say differs"
        )
    return None


def set_path(spec: str) -> Path:
    return DATA / f"{spec}.yaml"


def has_set(spec: str) -> bool:
    return spec != PROMPTS and set_path(spec).is_file()


def known_sets() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml") if p.stem != PROMPTS)


def load_set(spec: Spec, path: Path | None = None) -> PairSet:
    """The checked-in set of `spec` (or the set at `path`), checked against the spec."""
    path = path or set_path(spec.name)
    if not path.is_file():
        raise ConfigError(
            f"{path}: no checked-in spec-knowledge set for spec {spec.name!r} (sets exist for "
            f"{', '.join(known_sets())}); write one, or set evaluate.spec_knowledge.source to "
            "auto or build to build it from the spec's assertions"
        )
    raw, source = read_yaml(path)
    pair_set = build(PairSet, {} if raw is None else raw, source)
    if pair_set.spec != spec.name:
        raise ConfigError(
            f"{source.at('spec')}: `spec: {pair_set.spec}` but the set is for spec "
            f"{spec.name!r} ({path.name}); make them agree"
        )
    _check_set(pair_set, spec, source)
    return pair_set


def _check_set(pair_set: PairSet, spec: Spec, source: Source) -> None:
    sections = section_ids(spec)
    seen: dict[str, int] = {}
    for i, pair in enumerate(pair_set.pairs):
        if pair.section not in sections:
            raise ConfigError(
                f"{source.at(f'pairs[{i}].section')}: section {pair.section!r} is not in "
                f"{spec.path}; known: {', '.join(sorted(sections))}"
            )
        for key in ("consistent", "inconsistent"):
            try:
                render(getattr(pair, key), spec)
            except (KeyError, IndexError, ValueError) as err:
                raise ConfigError(
                    f"{source.at(f'pairs[{i}].{key}')}: bad placeholder ({err!r}); only "
                    "{model_name} and {provider_name} are filled in"
                ) from None

        for text in (pair.consistent, pair.inconsistent):
            key = " ".join(render(text, spec).lower().split())
            if key in seen:
                raise ConfigError(
                    f"{source.at(f'pairs[{i}]')}: pair {i} repeats a statement of pair "
                    f"{seen[key]} ({source.at(f'pairs[{seen[key]}]')}); remove or change one"
                )
            seen[key] = i


def section_ids(spec: Spec) -> set[str]:
    """What a pair's `section` may name: the overview, any heading section, any rule."""
    return {"overview", *(s.id for s in spec.sections), *(r.id for r in spec.rules)}


def render(text: str, spec: Spec) -> str:
    return text.format(model_name=spec.model_name, provider_name=spec.provider_name)


def pair_id(section: str, consistent: str, inconsistent: str) -> str:
    """`<section>-<10 hex>`, from the section and both statements: it survives reordering."""
    digest = hashlib.sha256(f"{section}\n{consistent}\n{inconsistent}".encode()).hexdigest()
    return f"{section}-{digest[:10]}"


def resolve(pair_set: PairSet, spec: Spec) -> list[EvalPair]:
    out = []
    for p in pair_set.pairs:
        c, i = render(p.consistent, spec), render(p.inconsistent, spec)
        out.append(EvalPair(pair_id(p.section, c, i), p.section, c, i))
    return out


def select(pairs: list[EvalPair], max_pairs: int) -> list[EvalPair]:
    """The first `max_pairs` pairs (0: all) taken round-robin over the sections in file order:
    a subset that covers every section it can and never changes between runs."""
    if max_pairs == 0 or max_pairs >= len(pairs):
        return list(pairs)
    by_section: dict[str, list[EvalPair]] = {}
    for p in pairs:
        by_section.setdefault(p.section, []).append(p)
    out: list[EvalPair] = []
    depth = 0
    while len(out) < max_pairs:
        for group in by_section.values():
            if depth < len(group) and len(out) < max_pairs:
                out.append(group[depth])
        depth += 1
    return out
