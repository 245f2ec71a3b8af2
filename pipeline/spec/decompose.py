"""Decompose a spec into plan sections (each with its verbatim excerpt) and labelled assertions.

`values` specs: the overview and every heading section with text of its own is a plan section;
its assertions are the sentences it asserts. Sentences about the document rather than the
model ("This document describes ...", "There are five rules.", "This is a preference, not a
rule.") are never assertions: `is_meta` says which. `rules` specs: every rule is a plan section (its
excerpt is the rule line and what follows it up to the next rule or heading) with exactly one
compliance-style assertion, the rule itself, so the three rule specs decompose the same way and
differ only in content. Plan sections are what `section_id` in a document record names.

Deterministic and model-free: every backend starts from the same plan.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from pipeline.io import sha256_text
from pipeline.spec.parse import HEADING, RULE, Section, Spec, SpecError

LABELS = ("behavior", "value", "preference", "belief", "tone")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_MARKUP = re.compile(r"(\*\*|__|`|^\s*[-*+]\s+|^\s*\d+\.\s+)", re.MULTILINE)
_LABEL_CUES = (
    (
        "preference",
        r"\b(prefer|prefers|likes?|enjoys?|dislikes?|favou?rite|fond of|would rather)\b",
    ),
    ("value", r"\b(values?|because|matters?|important|worth|care[sd]? about|principle)\b"),
    ("belief", r"\b(believes?|understands?|recogni[sz]es?|knows?|thinks?|holds? that)\b"),
    ("tone", r"\b(tone|warm|gentle|humble|calm|curious|respectful|plain(ly)?|voice)\b"),
    ("behavior", r"\b(should|must|will|never|always|does not|avoids?|refuses?|asks?)\b"),
)

# sentences that talk about the document (its purpose, structure or status), not the model
_META = re.compile(
    r"^(?:"
    r"(?:This|The) (?:document|spec|specification|section|page|guide|text|list|note)\b"
    r"|(?:Below|What follows|The following)\b|In (?:this|the following) (?:document|section)\b"
    r"|There (?:are|is) (?:\w+ )?(?:rules?|principles?|sections?|parts?|prescriptions?)\b"
    r"|(?:This|These|That|Those|It) (?:is|are) (?:not )?(?:an? )?(?:\w+ )?(?:preferences?|rules?"
    r"|guidelines?|defaults?|suggestions?|commandments?|requirements?|heuristics?)\b"
    r"|Each (?:rule|section|principle|prescription)\b.*\b(?:followed by|identifier|cited|listed)"
    r"|The (?:aim|purpose|goal|point) (?:of (?:this|the) \w+ )?is\b"
    r"|[A-Z]{1,4}\d+\.?$"
    r")"
)


@dataclass(frozen=True)
class Assertion:
    id: str
    text: str
    label: str


@dataclass(frozen=True)
class PlanSection:
    """A unit of the generation plan: a spec section (or the overview, or one rule)."""

    id: str
    title: str
    hash: str
    excerpt: str
    assertions: tuple[Assertion, ...]

    def to_json(self) -> dict:
        return asdict(self)


def label_of(sentence: str) -> str:
    low = sentence.lower()
    for label, pattern in _LABEL_CUES:
        if re.search(pattern, low):
            return label
    return "belief"


def is_meta(sentence: str) -> bool:
    """A sentence about the document itself, not about the model: never an assertion."""
    return bool(_META.match(sentence))


def sentences(text: str) -> list[str]:
    plain = _MARKUP.sub("", text)
    out = []
    for para in re.split(r"\n\s*\n", plain):
        para = " ".join(para.split())
        out.extend(s.strip() for s in _SENTENCE.split(para) if s.strip())
    return out


def decompose(spec: Spec, min_words: int = 6, max_assertions: int = 8) -> list[PlanSection]:
    if spec.kind == "rules":
        return _rule_sections(spec)
    sections = []
    # The overview is a section too: a spec that is all overview (one paragraph) still has one.
    overview = Section("overview", "Overview", 1, 0, spec.overview)
    for section in [overview, *spec.sections]:
        found = [
            s for s in sentences(section.text) if len(s.split()) >= min_words and not is_meta(s)
        ]
        if not found:
            continue
        if len(found) > max_assertions:  # spread the picks over the whole section
            step = len(found) / max_assertions
            found = [found[int(i * step)] for i in range(max_assertions)]
        assertions = tuple(
            Assertion(f"{section.id}#a{i + 1}", s, label_of(s)) for i, s in enumerate(found)
        )
        sections.append(
            PlanSection(section.id, section.title, section.hash, section.text, assertions)
        )
    return sections


def _rule_sections(spec: Spec) -> list[PlanSection]:
    out = []
    for rule in spec.rules:
        section = next((s for s in spec.sections if s.id == rule.section_id), None)
        excerpt = _rule_excerpt(section.text if section else spec.overview, rule.id)
        assertion = Assertion(f"{rule.id}#a1", rule.text, "behavior")
        title = f"{rule.id}: {section.title}" if section else rule.id
        h = sha256_text(f"{rule.id}\n{excerpt}")[:16]
        out.append(PlanSection(rule.id, title, h, excerpt, (assertion,)))
    return out


def _rule_excerpt(text: str, rule_id: str) -> str:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if (m := RULE.match(ln)) and m.group(1) == rule_id)
    end = start + 1
    while end < len(lines) and not RULE.match(lines[end]) and not HEADING.match(lines[end]):
        end += 1
    return "\n".join(lines[start:end]).strip()


def plan_of(spec: Spec, min_words: int) -> list[PlanSection]:
    """`decompose(spec)`, or a SpecError naming the file and what is missing when the plan is
    empty: a spec that parses but leaves nothing to generate from must not yield an empty
    corpus silently."""
    sections = decompose(spec, min_words=min_words)
    if sections:
        return sections
    if spec.kind == "rules":
        raise SpecError(
            spec.path,
            None,
            "a `rules` spec without rule items, so there is nothing to generate from",
            "write each rule as a list item `- **R1.** {model_name} ...` (a bold id, then the "
            "rule), or set `kind: values` to generate from its sentences",
        )
    raise SpecError(
        spec.path,
        None,
        f"no sentence of at least {min_words} words about the model in the overview or any "
        "section (sentences about the document itself, such as 'This document describes ...', "
        "do not count), so there are no assertions to generate from",
        "write what the model should think and do as full sentences (params.yaml "
        "`generate.min_assertion_words` sets the minimum length)",
    )
