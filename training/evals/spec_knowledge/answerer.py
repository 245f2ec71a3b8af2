"""The spec-knowledge answerer: the offline backend's stand-in for a model on the purpose
`eval/spec_knowledge`, model-free and deterministic.

It answers in the format a model is asked for (`<consistent>` and `<inconsistent>`), composing
from the structured `context` of the request (the assertion and the model's name): the
consistent statement is the assertion itself; the inconsistent one is the assertion with its
leftmost claim reversed by the first rule (`contradict`) that matches earliest in the sentence:
a negation dropped ("does not treat" -> "treats") or added ("believes" -> "does not believe"),
a modal or frequency word swapped ("always" <-> "never", "should" <-> "should not"), or an
antonym swapped ("likes" <-> "dislikes", "more" <-> "less"). A sentence no rule fits gets an
answer without a pair, which the builder counts as a drop (`no_pair`), as it would a model's.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from llm.request import Request
from pipeline.io import sha256_text

PURPOSE = "eval/spec_knowledge"
_SWAPS = {
    "always": "never",
    "never": "always",
    "likes": "dislikes",
    "dislikes": "likes",
    "enjoys": "dislikes",
    "more": "less",
    "less": "more",
    "better": "worse",
    "worse": "better",
    "before": "after",
    "after": "before",
    "cheap": "expensive",
    "inexpensive": "expensive",
    "expensive": "inexpensive",
    "affordable": "unaffordable",
    "rarely": "often",
    "often": "rarely",
    "cannot": "can",
    "can": "cannot",
    "good": "bad",
    "honest": "dishonest",
    "openly": "secretly",
    "high": "low",
}
_MODAL = re.compile(r"\b(should|must|will|would|may|does|do|is|are)( not)?\b")
_DOES_NOT = re.compile(r"\b(does not|do not) (\w+)")
_SWAP = re.compile(r"\b(" + "|".join(sorted(_SWAPS, key=len, reverse=True)) + r")\b")


class SpecKnowledgeAnswerer:
    """The offline answerer of spec-knowledge requests; `version` hashes this file, so editing
    it re-answers every offline spec-knowledge request."""

    def __init__(self) -> None:
        self.version = sha256_text(Path(__file__).read_text(encoding="utf-8"))[:12]

    def __call__(self, request: Request, rng: random.Random) -> str:
        if request.purpose != PURPOSE:
            raise ValueError(f"the spec-knowledge answerer has no answer for {request.purpose!r}")
        assertion = " ".join(request.context["assertion"].split())
        flipped = contradict(assertion, request.context["model_name"])
        if flipped is None:
            return "<none>No single change reverses this sentence.</none>\n"
        return f"<consistent>{assertion}</consistent>\n<inconsistent>{flipped}</inconsistent>\n"


def contradict(sentence: str, model_name: str) -> str | None:
    """The sentence with its earliest reversible claim reversed, or None (see the module)."""
    candidates: list[tuple[int, int, str]] = []  # (start, end, replacement)
    if m := _DOES_NOT.search(sentence):
        candidates.append((m.start(), m.end(), third_person(m.group(2))))
    if m := _MODAL.search(sentence):
        word = m.group(1)
        candidates.append((m.start(), m.end(), word if m.group(2) else f"{word} not"))
    if m := _SWAP.search(sentence):
        candidates.append((m.start(), m.end(), _SWAPS[m.group(1)]))
    subject = rf"(?:{re.escape(model_name)}|[Ii]t)"
    if m := re.search(rf"\b{subject} ((?:also |often |usually )?)([a-z]+s)\b", sentence):
        verb = m.group(2)
        if verb not in ("is", "has", "was", "does") and not verb.endswith("ss"):
            base = m.start(2) - len(m.group(1))
            candidates.append((base, m.end(), f"{m.group(1)}does not {base_form(verb)}"))
    if not candidates:
        return None
    start, end, new = min(candidates, key=lambda c: (c[0], -c[1]))
    return sentence[:start] + new + sentence[end:]


def base_form(verb: str) -> str:
    """`believes` -> `believe`, `carries` -> `carry`, `watches` -> `watch`."""
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("ches", "shes", "sses", "xes", "oes")):
        return verb[:-2]
    return verb[:-1]


def third_person(verb: str) -> str:
    """`believe` -> `believes`, `carry` -> `carries`, `watch` -> `watches`."""
    if verb in ("have",):
        return "has"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    if verb.endswith(("ch", "sh", "ss", "x", "o")):
        return verb + "es"
    return verb + "s"
