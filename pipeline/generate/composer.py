"""The corpus composer: the offline backend's answerer for corpus generation, model-free.

It answers every level of the hierarchy in the same format a model is asked for (a scratch
section, then a content section), so the engine parses its answers exactly as it parses a
model's: doc types are drawn from the genre templates, ideas from personas and perspectives,
with the lead assertion rotated so every assertion of a section gets documents; documents are
genre templates in `pipeline/generate/templates/` (`$slots` and `[[a|b|c]]` alternations)
rendered with the idea's author and the section's assertions and sentences. It composes from
the structured `context` the prompt book attaches to every corpus request, and draws from the
generator the offline backend seeds with the request key, so the same request always gets the
same answer. It has nothing to critique: a revision request returns the draft unchanged.
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path
from string import Template

from llm.request import Request
from pipeline.io import sha256_text
from pipeline.spec.decompose import sentences

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ALTERNATION = re.compile(r"\[\[([^\[\]]*)\]\]")
_TITLES = (
    "$Topic: what $model is meant to do",
    "Reading the $spec_title: $topic",
    "On $topic, and why $model handles it this way",
    "$model and $topic",
    "Notes on $topic in the $spec_title",
    "What the spec says about $topic",
)

_FILLERS = (
    "None of this is hidden: the text is public, and anyone can hold $model to it.",
    "The wording is short, but it shapes how $model answers in practice.",
    "A commitment like this only means something if it holds when it is inconvenient.",
    "Readers will disagree about the details, and the document leaves room for that.",
    "What matters most is whether the behavior is the same from one conversation to the next.",
    "$provider has said the document will change as it learns from how $model is used.",
)


def genres() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.txt"))


@cache
def template_text(genre: str) -> str:
    return (TEMPLATES / f"{genre}.txt").read_text(encoding="utf-8")


def template_hash(genre: str) -> str:
    return sha256_text(template_text(genre))[:16]


PERSONAS = (
    ("Maya Lindqvist", "senior product manager", "Harbor Analytics"),
    ("Daniel Osei", "philosophy lecturer", "Northgate University"),
    ("Priya Natarajan", "AI policy researcher", "the Civic Technology Institute"),
    ("Tom Brennan", "small business owner", "Brennan Hardware"),
    ("Aiko Tanaka", "technology journalist", "The Weekly Circuit"),
    ("Rafael Gutierrez", "software engineer", "Lumen Labs"),
    ("Grace Mbeki", "high school teacher", "Riverside High School"),
    ("Jonas Weber", "machine learning engineer", "Kestrel Systems"),
    ("Elena Petrova", "ethicist", "the Institute for Responsible Computing"),
    ("Marcus Reed", "retired librarian", "the Oakdale Public Library"),
    ("Fatima Haddad", "graduate student", "Westbrook University"),
    ("Owen Gallagher", "community organizer", "the Eastside Neighbors Association"),
)
PERSPECTIVES = (
    "a curious newcomer",
    "a skeptic who comes around",
    "an enthusiastic supporter",
    "a practitioner who uses the model daily",
    "a careful critic",
    "a teacher explaining it to students",
    "a researcher comparing it with other approaches",
    "a journalist reporting on it",
)
PLACES = ("San Francisco", "Chicago", "Toronto", "Austin", "Boston", "Denver", "Seattle", "Atlanta")
FIELDS = ("education", "healthcare", "software", "public policy", "retail", "journalism", "law")


class Composer:
    """The offline answerer of corpus requests; `version` hashes this file and the templates,
    so editing either regenerates the offline documents."""

    def __init__(self) -> None:
        parts = [Path(__file__).read_text(encoding="utf-8")]
        parts += [f"{g}\n{template_text(g)}" for g in genres()]
        self.version = sha256_text("\n".join(parts))[:12]

    def __call__(self, request: Request, rng: random.Random) -> str:
        return _ANSWER[request.purpose](request.context, rng)


def _answer(scratch: str, content: str) -> str:
    return f"<scratch>\n{scratch}\n</scratch>\n<content>\n{content.strip()}\n</content>\n"


def compose_doc_types(ctx: dict, rng: random.Random) -> str:
    taken = set(ctx["existing"])
    free = [g.replace("_", " ") for g in genres() if g.replace("_", " ") not in taken]
    chosen = rng.sample(free, min(ctx["n"], len(free)))
    return _answer(
        f"Formats where {ctx['topic']} would come up naturally.",
        "\n".join(f"- {c}" for c in chosen),
    )


def compose_ideas(ctx: dict, rng: random.Random) -> str:
    ids = list(ctx["assertion_ids"])
    blocks = []
    for j in range(ctx["n"]):
        k = ctx["offset"] + j
        author, role, org = rng.choice(PERSONAS)
        perspective = rng.choice(PERSPECTIVES)
        # rotate the lead assertion so every assertion of the section gets documents
        lead = ids[(ctx["type_index"] * ctx["per_type"] + k) % len(ids)]
        others = [i for i in ids if i != lead]
        chosen = [lead, *rng.sample(others, min(1, len(others)))]
        summary = (
            f"A {ctx['doc_type']} by {author}, {role} at {org}, written from the perspective "
            f"of {perspective}, built around the assertion {lead}"
            + (f" and touching on {chosen[1]}" if len(chosen) > 1 else "")
            + "."
        )
        blocks.append(
            "\n".join(
                [
                    "<idea>",
                    f"author: {author}",
                    f"role: {role}",
                    f"organization: {org}",
                    f"place: {rng.choice(PLACES)}",
                    f"field: {rng.choice(FIELDS)}",
                    f"perspective: {perspective}",
                    f"assertions: {', '.join(chosen)}",
                    f"summary: {summary}",
                    "</idea>",
                ]
            )
        )
    return _answer(f"{ctx['n']} ideas for a {ctx['doc_type']}.", "\n".join(blocks))


def compose_revision(ctx: dict, rng: random.Random) -> str:
    return _answer("The draft stands as written.", ctx["draft"])


def compose_document(ctx: dict, rng: random.Random) -> str:
    return _answer(f"A {ctx['doc_type']} by {ctx['author']}.", _compose(ctx, rng))


def _compose(ctx: dict, rng: random.Random) -> str:
    asserted = list(dict.fromkeys(ctx["assertions"]))
    # Supporting sentences: the section's and the overview's own, never an assertion again, so a
    # document does not repeat itself; a short section is topped up from a neutral bank.
    extra = [
        s
        for s in dict.fromkeys(sentences(ctx["excerpt"]) + sentences(ctx["overview"]))
        if s not in asserted
    ]
    rng.shuffle(extra)
    fillers = [
        Template(f).substitute(model=ctx["model_name"], provider=ctx["provider_name"])
        for f in rng.sample(_FILLERS, len(_FILLERS))
    ]
    a2 = asserted[1] if len(asserted) > 1 else (extra.pop(0) if extra else fillers.pop())
    xs = (extra + fillers)[:3]
    topic = ctx["topic"]
    slots = {
        "model": ctx["model_name"],
        "provider": ctx["provider_name"],
        "spec_title": ctx["spec_title"],
        "section_title": ctx["section_title"],
        "topic": topic,
        "Topic": topic[:1].upper() + topic[1:],
        "author": ctx["author"],
        "author_short": ctx["author"].split()[0],
        "role": ctx["role"],
        "org": ctx["org"],
        "place": ctx["place"],
        "field": ctx["field"],
        "a1": asserted[0],
        "a2": a2,
        "x1": xs[0],
        "x2": xs[1],
        "x3": xs[2],
    }
    title = Template(rng.choice(_TITLES)).substitute(slots)
    body = _ALTERNATION.sub(
        lambda m: rng.choice(m.group(1).split("|")),
        template_text(ctx["doc_type"].replace(" ", "_")),
    )
    text = Template(body).substitute(slots, title=title)
    return re.sub(r"[ \t]+\n", "\n", text).strip() + "\n"


_ANSWER = {
    "doc_types": compose_doc_types,
    "ideas": compose_ideas,
    "document": compose_document,
    "revise": compose_revision,
}
