"""The offline backend: a deterministic, model-free composer of genre documents.

Each genre is a template file in `pipeline/generate/templates/` with `$slots` and `[[a|b|c]]`
alternations. A document is the template rendered with the idea's author and perspective, the
subdomain's assertions and verbatim excerpt sentences, with every alternation drawn from a
generator seeded by the request key, so the same request always gives the same text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from string import Template

from pipeline.generate.request import Request, Response
from pipeline.io import sha256_text
from pipeline.spec.decompose import sentences

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# The composer's own code is part of every offline request, so editing it regenerates documents.
COMPOSER_HASH = sha256_text(Path(__file__).read_text(encoding="utf-8"))[:16]
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


class OfflineBackend:
    name = "offline"
    paid = False

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response]]:
        for request in requests:
            yield request, Response(text=compose(request))


def compose(request: Request) -> str:
    ctx = request.context
    rng = random.Random(int(request.key[:16], 16))
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
        "author_short": ctx["author_short"],
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
        lambda m: rng.choice(m.group(1).split("|")), template_text(ctx["doc_type"])
    )
    text = Template(body).substitute(slots, title=title)
    return re.sub(r"[ \t]+\n", "\n", text).strip() + "\n"
