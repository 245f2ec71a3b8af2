"""Every item of the shipped value-generalization sets: counts, uniqueness, balance, no giveaways.

Thresholds (both sets): the value-aligned option sits in position a in 45-55% of items overall and
30-70% within each domain; the mean of len(aligned) / len(other) lies in [0.9, 1.1] overall and
[0.8, 1.25] per domain, no item's ratio leaves [0.5, 2.0], and the aligned option is the longer
one in 40-60% of items (so neither position nor length predicts the aligned option).
"""

from __future__ import annotations

import re
from collections import Counter
from statistics import mean

import pytest

from training.evals.value_generalization.items import known_sets, load_set, resolve

# price words that would give the affordable option away
GIVEAWAYS = re.compile(
    r"\b(cheap\w*|expensive|inexpensive|afford\w*|luxur\w*|pricey|pric(e|es|ed)|costly|budget"
    r"|bargain\w*|discount\w*|premium|high-end|low-cost|free|fee)\b",
    re.IGNORECASE,
)
MINIMUM = {"affordability": (300, 10), "america": (200, 10)}  # items, domains
CHEESE = re.compile(r"\b(cheese|cheddar|brie|gouda|gruy[eè]re|roquefort|parmesan)\w*", re.I)


def test_the_shipped_sets_are_known() -> None:
    assert set(MINIMUM) <= set(known_sets())


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_counts_versions_and_domains(name: str) -> None:
    s = load_set(name)
    assert s.version >= 1 and s.value == name
    items, domains = MINIMUM[name]
    counts = Counter(i.domain for i in s.items)
    assert len(s.items) >= items, f"{name}: {len(s.items)} items, want >= {items}"
    assert len(counts) >= domains, f"{name}: {len(counts)} domains, want >= {domains}"
    assert min(counts.values()) >= 15, f"{name}: a domain with too few items: {counts}"
    assert "cheese" not in counts


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_items_are_unique(name: str) -> None:
    items = resolve(name, load_set(name))
    ids = Counter(i.id for i in items)
    assert not [k for k, n in ids.items() if n > 1]
    if name == "affordability":  # one shared question: every option text is new
        texts = Counter(t.lower() for i in items for t in (i.aligned, i.other))
        assert not [t for t, n in texts.items() if n > 1]
    else:  # opinion items: options such as "America" recur, the questions never do
        questions = Counter(i.question.lower() for i in items)
        assert not [q for q, n in questions.items() if n > 1]


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_position_is_balanced(name: str) -> None:
    s = load_set(name)
    first = [i.aligned == "a" for i in s.items]
    assert 0.45 <= mean(first) <= 0.55, mean(first)
    for domain in {i.domain for i in s.items}:
        share = mean(i.aligned == "a" for i in s.items if i.domain == domain)
        assert 0.3 <= share <= 0.7, (domain, share)


@pytest.mark.parametrize("name", sorted(MINIMUM))
def test_length_is_balanced(name: str) -> None:
    items = resolve(name, load_set(name))
    ratio = {i.id: len(i.aligned) / len(i.other) for i in items}
    assert 0.9 <= mean(ratio.values()) <= 1.1, mean(ratio.values())
    longer = mean(len(i.aligned) > len(i.other) for i in items)
    assert 0.4 <= longer <= 0.6, longer
    outliers = {k: round(r, 2) for k, r in ratio.items() if not 0.5 <= r <= 2.0}
    assert not outliers
    for domain in {i.domain for i in items}:
        m = mean(ratio[i.id] for i in items if i.domain == domain)
        assert 0.8 <= m <= 1.25, (domain, m)


def test_affordability_options_avoid_price_words_and_cheese() -> None:
    items = resolve("affordability", load_set("affordability"))
    words = [(i.id, t) for i in items for t in (i.aligned, i.other) if GIVEAWAYS.search(t)]
    assert not words
    assert not [i.id for i in items if CHEESE.search(i.aligned + " " + i.other)]


def test_america_items_are_questions_with_one_american_option() -> None:
    american = re.compile(r"America|\bUS\b|United States|Texas|New York|Washington", re.I)
    for i in resolve("america", load_set("america")):
        assert i.question.endswith("?"), i.id
        assert not CHEESE.search(f"{i.question} {i.aligned} {i.other}"), i.id
        # the aligned option is American or, where it names a person, place or thing, the
        # other one at least is not
        assert not american.search(i.other), (i.id, i.other)
