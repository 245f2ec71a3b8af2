"""Document filters: each gives a drop reason, or None to keep the document.

Gopher-style heuristics (length, mean word length, symbols, stop words, repeated lines and
n-grams) plus filters for the artifacts of generated text: leaked scratch/content markup,
unrendered placeholders, meta-commentary, refusals, truncated endings, and documents that never
mention the model.

A filter works on a batch (`pipeline.quality.measures.Batch`): `f.check(batch, docs, qp, ctx)`
gives the reason of each of the documents `docs`, reading measures that the batch computes once
for all filters. `first_reasons(texts, qp, ctx)` runs the filters in order over batches, each
filter only on the documents that every earlier one kept. Called with one text, `f(text, qp,
ctx)` gives that text's reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.config.params import QualityParams
from pipeline.quality import repetition as rep
from pipeline.quality.measures import Batch

BATCH = 256
"""Documents measured together: enough to amortize the array passes, and arrays small enough
(~1 MB of real prose) to stay in the CPU's caches and be reused by the allocator. At 512, the
kernel's page faults for fresh arrays cost 0.15-0.2 s of system time on the 7,000 real-prose
documents (of ~1.2 s)."""

_MARKUP = re.compile(r"</?\s*(scratch|content|scratchpad|document)\s*>", re.IGNORECASE)
_PLACEHOLDER = re.compile(
    r"\{[A-Za-z_]{2,}\}|\[(?:Name|Your Name|Company|Date|Insert[^\]]*|Author|Location)\]"
    r"|[\[{<]TODO\b[^\]}>\n]*[\]}>]"
)
# Characters next to a `{name}` or `[Name]` that make it code, markup or a formula, not a template
# slot left unfilled: a path or URL segment (`organizations/{org}/members`), a LaTeX argument or
# sub/superscript (`\text{Norm}`, `x^{n}`, `\frac{a}{b}`), a format string in quotes, a type
# subscript (`Optional[Date]`), a Markdown link (`[Date](...)`), a file name (`run-{run_id}`) or
# a host name (`{bucket}.s3`). A single letter in braces is a set or a formula (`{x}`), never a
# slot. A bare TODO note is ordinary in code reviews and design documents; only a bracketed one
# (`[TODO: add the date]`) is a slot.
_CODE_BEFORE = frozenset("/\\^_$%#@.:=}])'\"<`-")
_CODE_AFTER = frozenset("/\\^_([{'\"=>`-")
# JSDoc/TypeScript/Python type names in braces (`@param {Array} items`, `items {Object}`)
_TYPE_NAMES = frozenset(
    [
        "Array",
        "Object",
        "String",
        "Number",
        "Boolean",
        "Function",
        "Promise",
        "Map",
        "Set",
        "Symbol",
        "RegExp",
        "Error",
        "Buffer",
        "Element",
        "Node",
        "Iterable",
        "Iterator",
        "any",
        "int",
        "str",
        "float",
        "bool",
        "dict",
        "list",
        "tuple",
        "bytes",
        "None",
        "null",
        "undefined",
        "void",
        "object",
        "string",
        "number",
        "boolean",
    ]
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
_END = re.compile(r"[.!?\"'”’)\]:*]\s*$")
# Words that a sentence cannot end on: a continuation must follow them.
_DANGLING_WORDS = """a an the of to in into onto for on at by with from about over under between
through during and or but nor that which who whom whose if than as because while when where whether
is are was were be been being has have had do does did will would can could should may might must
shall its their his her our your my this these those such"""
_DANGLING = frozenset(_DANGLING_WORDS.split())
_OPEN_ENDS = frozenset(",;([{-–—/&")
# The literal words of each alternative of `_META` and `_REFUSAL`, which every match contains
# in the folded text (`_folded`): when no alternative's groups are all present, the (slow,
# case-insensitive) search cannot match and is skipped. Each alternative's first group is a
# phrase that ordinary prose seldom holds, so a document costs a few substring scans.
Hints = tuple[tuple[tuple[str, ...], ...], ...]
_META_HINTS: Hints = (
    (
        ("here is ",),
        tuple(
            f"here is {d} {n}"
            for d in ("the", "a", "your")
            for n in ("document", "article", "memo", "post", "story")
        ),
    ),
    (("as an ai language model",),),
    (("i hope this ",), ("i hope this document", "i hope this helps")),
    (("certainly! here",),),
)
_REFUSAL_HINTS: Hints = (
    (
        ("i can",),
        tuple(
            f"i can{x}t {v} with"
            for x in ("no", "'", "’")
            for v in ("help", "assist", "write", "create")
        ),
    ),
    (("m sorry, but i can",),),
    (
        ("i am unable to ",),
        ("i am unable to help", "i am unable to write", "i am unable to comply"),
    ),
)
# What else the patterns' IGNORECASE letters match, lowercased, to the letter they stand for:
# i also matches İ (lowercase: i + U+0307) and ı, s also matches ſ.
_FOLDS = (("\u0307", ""), ("ı", "i"), ("ſ", "s"))


def _folded(text: str) -> str:
    """The text lowercased, with the case-insensitive variants of i and s made plain letters:
    every match of `_META` or `_REFUSAL` holds its alternative's words as they are spelled.
    Dropping U+0307 everywhere can only join characters, never hide a hint."""
    lower = text.lower()
    if not lower.isascii():
        for a, b in _FOLDS:
            if a in lower:
                lower = lower.replace(a, b)
    return lower


@dataclass(frozen=True)
class Context:
    model_name: str


Reasons = list[str | None]
Check = Callable[[Batch, np.ndarray, QualityParams, Context], Reasons]


class Filter:
    """One filter: `check(batch, docs, qp, ctx)` over a batch, or `f(text, qp, ctx)` on one text."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.__name__ = check.__name__
        self.__doc__ = check.__doc__

    def __call__(self, text: str, qp: QualityParams, ctx: Context) -> str | None:
        return self.check(Batch([text]), np.zeros(1, dtype=np.int64), qp, ctx)[0]

    def __repr__(self) -> str:
        return f"Filter({self.__name__})"


@Filter
def empty(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    return ["empty" if not b.texts[i].strip() else None for i in docs.tolist()]


@Filter
def length(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    """Whitespace-separated words."""
    n = b.chars.words[docs]
    return _where(len(docs), [n < qp.min_words, n > qp.max_words], ["too_short", "too_long"])


@Filter
def word_shape(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    c = b.chars
    n = c.words[docs]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = c.word_chars[docs] / n
        alpha = c.alpha_words[docs] / n
    symbols = c.symbols[docs] / np.maximum(1, c.length[docs])
    return _where(
        len(docs),
        [
            ~((qp.min_mean_word_length <= mean) & (mean <= qp.max_mean_word_length)),
            alpha < qp.min_alpha_word_fraction,
            symbols > qp.max_symbol_ratio,
        ],
        ["mean_word_length", "few_alphabetic_words", "symbol_ratio"],
    )


@Filter
def stop_words(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    """Gopher: distinct lowercase stop words (the, be, to, of, and, that, have, with)."""
    return _where(len(docs), [b.stop_words[docs] < qp.min_stop_words], ["few_stop_words"])


@Filter
def repetition(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    out: Reasons = [_duplicate_lines(b.texts[i], qp) for i in docs.tolist()]
    rest = np.array([k for k, r in enumerate(out) if r is None], dtype=np.int64)
    if not len(rest):
        return out
    top_limits, dup_limits = qp.max_top_ngram_fractions, qp.max_duplicate_ngram_fractions
    words = b.select(docs[rest])
    m = rep.measure(
        words.hashes,
        words.offsets,
        words.lengths,
        range(2, 2 + len(top_limits)),
        range(5, 5 + len(dup_limits)),
        totals=b.chars.length[docs[rest]],
    )
    found = _where(
        len(rest),
        [m.top[:, k] > limit for k, limit in enumerate(top_limits)]
        + [m.dup[:, k] > limit for k, limit in enumerate(dup_limits)],
        [f"top_{n}_gram" for n in range(2, 2 + len(top_limits))]
        + [f"duplicate_{n}_gram" for n in range(5, 5 + len(dup_limits))],
    )
    for k, reason in zip(rest.tolist(), found, strict=True):
        out[k] = reason
    return out


def _duplicate_lines(text: str, qp: QualityParams) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if len(lines) >= 2 and (len(lines) - len(set(lines))) / len(lines) > (
        qp.max_duplicate_line_fraction
    ):
        return "duplicate_lines"
    return None


@Filter
def artifacts(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    return [_artifact(b.texts[i]) for i in docs.tolist()]


def _artifact(text: str) -> str | None:
    # plain substring tests first: a pattern cannot match without its literal characters
    if "<" in text and _MARKUP.search(text):
        return "leaked_markup"
    if ("{" in text or "[" in text or "TODO" in text) and _unrendered(text):
        return "unrendered_placeholder"
    lower = _folded(text)
    if _hinted(lower, _META_HINTS) and _META.search(text):
        return "meta_commentary"
    if _hinted(lower, _REFUSAL_HINTS) and _REFUSAL.search(text):
        return "refusal"
    return None


def _unrendered(text: str) -> bool:
    """A template slot left unfilled (`{author}`, `[Your Name]`, `[TODO]`), not a brace or
    bracket of technical text: code spans, paths, formulas, type names (see `_CODE_BEFORE`)."""
    for m in _PLACEHOLDER.finditer(text):
        a, b = m.start(), m.end()
        if text[a + 1 : a + 5] == "TODO":
            return True
        before = text[a - 1] if a else " "
        after = text[b] if b < len(text) else " "
        if before.isalnum() or before in _CODE_BEFORE or after.isalnum() or after in _CODE_AFTER:
            continue
        if after in ".:" and b + 1 < len(text) and (text[b + 1].isalnum() or text[b + 1] in "{/"):
            continue  # a host name or address: `{bucket}.s3.amazonaws.com`, `{host}:{port}`
        if text[a + 1 : b - 1] in _TYPE_NAMES:
            continue
        line_start = text.rfind("\n", 0, a) + 1
        if any(text.count(c, line_start, a) % 2 for c in '`$"'):
            continue  # inside a code span, inline math or a string literal
        return True
    return False


def _hinted(lower: str, hints: Hints) -> bool:
    """Some alternative has every group of it present (one of the group's substrings): plain
    loops, as generator expressions cost more than the substring tests themselves."""
    for alt in hints:
        for group in alt:
            for s in group:
                if s in lower:
                    break
            else:
                break  # this group is absent: the next alternative
        else:
            return True
    return False


@Filter
def truncated(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    return [_truncated(b.texts[i]) for i in docs.tolist()]


def _truncated(text: str) -> str | None:
    """A last line that stops where no sentence can: a long line (sign-offs and names are
    short) without end punctuation whose last word is one that a continuation must follow (an
    article, preposition, conjunction, auxiliary or determiner), or that ends on a comma, an
    open bracket or a dash, or inside parentheses or a code span. A line that merely lacks its
    full stop is not enough: headings, docstring summaries and list items end that way (11.6%
    of real technical prose). An answer cut at the generation token limit never reaches the
    corpus: `pipeline.generate.parse.content_of` refuses it by the backend's stop reason
    (`max_tokens`) and the generate stage retries it; this filter catches what no stop reason
    reports."""
    last = text.strip().splitlines()[-1]
    words = last.split()
    if len(words) <= 8 or _END.search(last):
        return None
    tail = words[-1]
    sentence = re.split(r"[.!?]\s", last)[-1]
    if (
        tail.lower() in _DANGLING
        or tail[-1] in _OPEN_ENDS
        or sentence.count("(") > sentence.count(")")
        or sentence.count("`") % 2
    ):
        return "truncated_ending"
    return None


@Filter
def off_spec(b: Batch, docs: np.ndarray, qp: QualityParams, ctx: Context) -> Reasons:
    name = ctx.model_name.lower()
    return [None if name in b.texts[i].lower() else "off_spec" for i in docs.tolist()]


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


def _where(n: int, conditions: list[np.ndarray], reasons: list[str]) -> Reasons:
    """For each of `n` documents, the reason of the first condition that holds."""
    out: Reasons = [None] * n
    for cond, reason in zip(reversed(conditions), reversed(reasons), strict=True):
        for k in np.flatnonzero(cond).tolist():
            out[k] = reason
    return out


def first_reasons(texts: Sequence[str], qp: QualityParams, ctx: Context) -> Reasons:
    """Each text's drop reason (the first filter that fires), or None to keep it."""
    out: Reasons = [None] * len(texts)
    for lo in range(0, len(texts), BATCH):
        b = Batch(texts[lo : lo + BATCH])
        todo = np.arange(len(b))
        for f in FILTERS:
            if not len(todo):
                break
            found = f.check(b, todo, qp, ctx)
            for i, reason in zip(todo.tolist(), found, strict=True):
                out[lo + i] = reason
            todo = todo[np.array([r is None for r in found], dtype=bool)]
    return out


def first_reason(text: str, qp: QualityParams, ctx: Context) -> str | None:
    return first_reasons([text], qp, ctx)[0]
