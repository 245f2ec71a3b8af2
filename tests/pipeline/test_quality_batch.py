"""The batch filters give exactly the reasons of a plain per-document reference, on clean,
crafted, Unicode and junk texts, whatever the batch size; the substring hints never hide a match."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter

import numpy as np
import pytest
from testprofile import section

from fakes.corpus import ENGLISH_HEAD, labelled_corpus
from pipeline.config.params import QualityParams
from pipeline.quality import filters
from pipeline.quality.filters import Context, first_reasons
from pipeline.quality.measures import _CLASSES, ALPHA, SYMBOL, WORD, _class_table, char_stats

QP = section("quality")
CTX = Context(model_name="Claude")


def ref_first_reason(text: str, qp: QualityParams, model: str) -> str | None:
    """The filters' definitions, one document at a time in plain Python."""
    if not text.strip():
        return "empty"
    words = WORD.findall(text)
    if len(words) < qp.min_words:
        return "too_short"
    if len(words) > qp.max_words:
        return "too_long"
    if (
        not qp.min_mean_word_length
        <= sum(map(len, words)) / len(words)
        <= (qp.max_mean_word_length)
    ):
        return "mean_word_length"
    if sum(1 for w in words if ALPHA.search(w)) / len(words) < qp.min_alpha_word_fraction:
        return "few_alphabetic_words"
    if len(SYMBOL.findall(text)) / max(1, len(text)) > qp.max_symbol_ratio:
        return "symbol_ratio"
    lower = re.findall(r"\w+", text.lower())
    stops = {"the", "be", "to", "of", "and", "that", "have", "with"}
    if len(set(lower) & stops) < qp.min_stop_words:
        return "few_stop_words"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) >= 2 and (len(lines) - len(set(lines))) / len(lines) > (
        qp.max_duplicate_line_fraction
    ):
        return "duplicate_lines"
    total = max(1, len(text))
    for n, limit in enumerate(qp.max_top_ngram_fractions, start=2):
        grams = [tuple(lower[i : i + n]) for i in range(len(lower) - n + 1)]
        counts = Counter(grams)
        best = max(counts.values(), default=0)
        if best >= 2:
            top = next(g for g in grams if counts[g] == best)  # ties: the first to occur
            if best * sum(map(len, top)) / total > limit:
                return f"top_{n}_gram"
    for n, limit in enumerate(qp.max_duplicate_ngram_fractions, start=5):
        seen, covered = set(), [False] * len(lower)
        for i in range(len(lower) - n + 1):
            g = tuple(lower[i : i + n])
            if g in seen:
                covered[i : i + n] = [True] * n
            seen.add(g)
        if sum(len(w) for w, c in zip(lower, covered, strict=True) if c) / total > limit:
            return f"duplicate_{n}_gram"
    for found, reason in (
        (filters._MARKUP.search, "leaked_markup"),
        (filters._unrendered, "unrendered_placeholder"),
        (filters._META.search, "meta_commentary"),
        (filters._REFUSAL.search, "refusal"),
    ):
        if found(text):
            return reason
    if filters._truncated(text):
        return "truncated_ending"
    return None if model.lower() in text.lower() else "off_spec"


JUNK_TEXT = (
    "abc DEF 123 ... ,,, !!! — – ’ “ ” é ß İ ı ſ K Σ σ ς 😀 🎉 \t \n \r \x0b \x0c \x1c \u00a0 "
    "\u2003 {x} [Name] TODO <content> # ~ ^ ` | \\ _ é́ ﬁ Ⅻ ٣ ² the and of Claude"
)
JUNK = JUNK_TEXT.split(" ")


def mixed_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    base = labelled_corpus(60, seed=seed, words=150, head_words=ENGLISH_HEAD, measure=False).texts
    out = list(base)
    for _ in range(n):
        words = rng.choice(base).split(" ")
        if rng.random() < 0.3:  # a pasted passage
            k = rng.randrange(len(words))
            words = words + words[k : k + rng.randint(5, 60)]
        for _ in range(rng.randint(0, 12)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(JUNK))
        if rng.random() < 0.2:
            words = [rng.choice([*JUNK, "the", "Claude"]) for _ in range(rng.randint(0, 90))]
        out.append(" ".join(words))
    return [*out, "", " ", "\n\n", "Claude " * 60, "😀" * 100, "the and " * 40 + "Claude."]


@pytest.mark.parametrize("seed", range(3))
def test_batch_reasons_equal_the_reference(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = mixed_texts(300, seed)
    qp = section("quality", min_words=20, max_words=400)
    expected = [ref_first_reason(t, qp, "Claude") for t in texts]
    assert len(set(expected)) >= 8, Counter(expected)
    assert first_reasons(texts, qp, CTX) == expected
    monkeypatch.setattr(filters, "BATCH", 7)
    assert first_reasons(texts, qp, CTX) == expected


def test_char_stats_match_the_regexes() -> None:
    texts = mixed_texts(100, 7)
    s = char_stats(texts)
    for i, t in enumerate(texts):
        words = WORD.findall(t)
        assert s.words[i] == len(words) and s.length[i] == len(t)
        assert s.word_chars[i] == sum(map(len, words))
        assert s.alpha_words[i] == sum(1 for w in words if ALPHA.search(w))
        assert s.symbols[i] == len(SYMBOL.findall(t))


def test_the_class_table_is_the_regexes() -> None:
    # every code point below 0x10000 in the classes of the filters' own patterns
    table = _class_table()
    for bit, pattern in _CLASSES:
        want = [pattern.match(chr(c)) is not None for c in range(0x10000)]
        assert ((table & bit) != 0).tolist() == want, pattern.pattern


# Case-insensitive variants of the letters: i and s also match İ, ı and ſ.
VARIANTS = {"i": "iIİı", "s": "sSſ"}


def variants(phrase: str, rng: random.Random) -> str:
    return "".join(rng.choice(VARIANTS.get(c, c + c.upper())) for c in phrase)


@pytest.mark.parametrize(
    ("pattern", "hints"), [("_META", "_META_HINTS"), ("_REFUSAL", "_REFUSAL_HINTS")]
)
def test_hints_never_hide_a_match(pattern: str, hints: str) -> None:
    regex, hint = getattr(filters, pattern), getattr(filters, hints)
    # every phrase the pattern's alternatives spell, in random case (incl. İ, ı, ſ)
    alternatives = {
        "_META": [
            *(
                f"here is {a} {d}"
                for a, d in itertools.product(
                    ("the", "a", "your"), ("document", "article", "memo", "post", "story")
                )
            ),
            "as an ai language model",
            "i hope this document",
            "i hope this helps",
            "certainly! here",
        ],
        "_REFUSAL": [
            *(
                f"i can{x}t {v} with"
                for x, v in itertools.product(
                    ("no", "'", "’"), ("help", "assist", "write", "create")
                )
            ),
            "i'm sorry, but i can",
            "i’m sorry, but i can",
            *(f"i am unable to {v}" for v in ("help", "write", "comply")),
        ],
    }[pattern]
    rng = random.Random(0)
    for phrase in alternatives:
        for _ in range(20):
            text = f"Some words. {variants(phrase, rng)} and more."
            assert regex.search(text), text
            assert filters._hinted(filters._folded(text), hint), text


def test_hint_letters_match_only_themselves_case_insensitively() -> None:
    """A hint may use a letter only if every character that the pattern's IGNORECASE letter
    matches folds to that letter (so `in _folded(text)` cannot miss a match)."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    chars = {
        c
        for h in (filters._META_HINTS, filters._REFUSAL_HINTS)
        for alt in h
        for group in alt
        for s in group
        for c in s
    }
    for c in sorted(chars):
        matched = set(re.findall(re.escape(c), everything, re.IGNORECASE))
        assert {filters._folded(m) for m in matched} == {c}, (c, matched)


def test_ties_take_the_earliest_ngram() -> None:
    from pipeline.quality.repetition import measure

    # "aa b" and "c dddd" both occur twice: the first to occur ("aa b") decides
    words = ["aa", "b", "x", "c", "dddd", "aa", "b", "y", "c", "dddd"]
    h = np.array([hash(w) for w in words], dtype=np.int64).view(np.uint64)
    lengths = np.array([len(w) for w in words])
    top = measure(h, np.array([0, len(words)]), lengths, (2,), ()).top[0, 0]
    assert top == 2 * 3 / sum(lengths)
