"""Document filters: each returns a drop reason, or None to keep the document.

Gopher-style heuristics (length, mean word length, symbols, stop words, repeated lines and
n-grams) plus filters for the
artifacts of generated text: leaked scratch/content markup, unrendered placeholders,
meta-commentary, refusals, truncated endings, and documents that never mention the model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.config import QualityParams
from pipeline.quality.repetition import duplicate_ngram_fraction, top_ngram_fraction, word_arrays

_WORD = re.compile(r"\S+")
_ALPHA = re.compile(r"[^\W\d_]")
_SYMBOL = re.compile(r"[^\w\s.,;:!?'\"()\-–—/&%$@]")
_MARKUP = re.compile(r"</?\s*(scratch|content|scratchpad|document)\s*>", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"\{[A-Za-z_]+\}|\[(?:Name|Your Name|Company|Date|Insert[^\]]*|Author|Location)\]|\bTODO\b"
)
_META = re.compile(
    r"\b(here is (the|a|your) (document|article|memo|post|story)|as an ai language model|"
    r"i hope this (document|helps)|certainly! here)",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(i can(no|'|’)t (help|assist|write|create) with|i('|’)m sorry, but i can|"
    r"i am unable to (help|write|comply))",
    re.IGNORECASE,
)
_LOWER_WORD = re.compile(r"\w+")
_STOP_WORDS = frozenset(("the", "be", "to", "of", "and", "that", "have", "with"))
_END = re.compile(r"[.!?\"'”’)\]:*]\s*$")


@dataclass(frozen=True)
class Context:
    model_name: str


Filter = Callable[[str, QualityParams, Context], str | None]


def empty(text: str, qp: QualityParams, ctx: Context) -> str | None:
    return "empty" if not text.strip() else None


def length(text: str, qp: QualityParams, ctx: Context) -> str | None:
    n = len(_WORD.findall(text))
    if n < qp.min_words:
        return "too_short"
    if n > qp.max_words:
        return "too_long"
    return None


def word_shape(text: str, qp: QualityParams, ctx: Context) -> str | None:
    words = _WORD.findall(text)
    mean = sum(map(len, words)) / len(words)
    if not qp.min_mean_word_length <= mean <= qp.max_mean_word_length:
        return "mean_word_length"
    alpha = sum(1 for w in words if _ALPHA.search(w)) / len(words)
    if alpha < qp.min_alpha_word_fraction:
        return "few_alphabetic_words"
    if len(_SYMBOL.findall(text)) / max(1, len(text)) > qp.max_symbol_ratio:
        return "symbol_ratio"
    return None


def stop_words(text: str, qp: QualityParams, ctx: Context) -> str | None:
    found = set(_LOWER_WORD.findall(text.lower())) & _STOP_WORDS
    return "few_stop_words" if len(found) < qp.min_stop_words else None


def repetition(text: str, qp: QualityParams, ctx: Context) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) >= 2:
        dup = len(lines) - len(set(lines))
        if dup / len(lines) > qp.max_duplicate_line_fraction:
            return "duplicate_lines"
    h, lengths = word_arrays(_LOWER_WORD.findall(text.lower()))
    for n, limit in enumerate(qp.max_top_ngram_fractions, start=2):
        if top_ngram_fraction(h, lengths, n) > limit:
            return f"top_{n}_gram"
    for n, limit in enumerate(qp.max_duplicate_ngram_fractions, start=5):
        fraction = duplicate_ngram_fraction(h, lengths, n)
        if fraction > limit:
            return f"duplicate_{n}_gram"
        if fraction == 0.0:  # no repeated n-gram means no repeated longer one either
            break
    return None


def artifacts(text: str, qp: QualityParams, ctx: Context) -> str | None:
    if _MARKUP.search(text):
        return "leaked_markup"
    if _PLACEHOLDER.search(text):
        return "unrendered_placeholder"
    if _META.search(text):
        return "meta_commentary"
    if _REFUSAL.search(text):
        return "refusal"
    return None


def truncated(text: str, qp: QualityParams, ctx: Context) -> str | None:
    last = text.strip().splitlines()[-1]
    # sign-offs and names end without punctuation; a long unfinished sentence does not
    if len(last.split()) > 8 and not _END.search(last):
        return "truncated_ending"
    return None


def off_spec(text: str, qp: QualityParams, ctx: Context) -> str | None:
    return None if ctx.model_name.lower() in text.lower() else "off_spec"


# Order matters: the first filter that fires gives the reason.
FILTERS: tuple[Filter, ...] = (
    empty,
    length,
    word_shape,
    stop_words,
    repetition,
    artifacts,
    truncated,
    off_spec,
)


def first_reason(text: str, qp: QualityParams, ctx: Context) -> str | None:
    for f in FILTERS:
        reason = f(text, qp, ctx)
        if reason:
            return reason
    return None
