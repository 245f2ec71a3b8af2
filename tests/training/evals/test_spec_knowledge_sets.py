"""Every checked-in spec-knowledge set: one per shipped spec, at least 30 pairs, versioned,
every `section` a section or rule of its spec, no statement repeated, and balanced lengths.

Length thresholds: within a pair the word counts differ by at most `MAX_WORD_GAP` (2) words
(the loader rejects more); over a set, the mean of words(consistent) - words(inconsistent) lies
in [-0.5, 0.5] and the consistent statement is the longer one in at most 40% of pairs (and so
is the inconsistent one), so statement length does not predict the consistent statement.
"""

from __future__ import annotations

from pathlib import Path
from statistics import mean

import pytest

from pipeline.spec import load_spec
from training.evals.spec_knowledge.pairs import (
    MAX_WORD_GAP,
    known_sets,
    load_set,
    resolve,
    section_ids,
    words,
)

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted(p.stem for p in (ROOT / "specs").glob("*.md"))


def test_every_shipped_spec_has_a_set_and_every_set_a_spec() -> None:
    assert SPECS and known_sets() == SPECS


@pytest.mark.parametrize("name", SPECS)
def test_set_is_large_versioned_and_names_real_sections(name: str) -> None:
    spec = load_spec(ROOT / "specs" / f"{name}.md")
    s = load_set(spec)
    assert s.version >= 1 and s.spec == name and s.description.strip()
    assert len(s.pairs) >= 30, f"{name}: {len(s.pairs)} pairs, want >= 30"
    sections = {p.section for p in s.pairs}
    assert sections <= section_ids(spec)
    # the set spreads over the spec: every section (or rule) with text of its own is tested,
    # up to eight of them
    own = {x.id for x in spec.sections if x.text.strip()} | {r.id for r in spec.rules}
    assert len(sections & own) >= min(8, len(own)), sorted(own - sections)


@pytest.mark.parametrize("name", SPECS)
def test_statements_are_unique_rendered_sentences(name: str) -> None:
    spec = load_spec(ROOT / "specs" / f"{name}.md")
    pairs = resolve(load_set(spec), spec)
    statements = [t.lower() for p in pairs for t in (p.consistent, p.inconsistent)]
    assert len(set(statements)) == len(statements)
    assert len({p.id for p in pairs}) == len(pairs)
    for p in pairs:
        for text in (p.consistent, p.inconsistent):
            assert "{" not in text and "}" not in text, text
            assert text[:1].isupper() and text.endswith("."), text


@pytest.mark.parametrize("name", SPECS)
def test_lengths_are_balanced(name: str) -> None:
    spec = load_spec(ROOT / "specs" / f"{name}.md")
    pairs = resolve(load_set(spec), spec)
    gaps = [words(p.consistent) - words(p.inconsistent) for p in pairs]
    assert max(abs(g) for g in gaps) <= MAX_WORD_GAP
    assert abs(mean(gaps)) <= 0.5, f"{name}: mean gap {mean(gaps):.2f} words"
    assert sum(g > 0 for g in gaps) <= 0.4 * len(gaps), f"{name}: consistent longer too often"
    assert sum(g < 0 for g in gaps) <= 0.4 * len(gaps), f"{name}: inconsistent longer too often"
