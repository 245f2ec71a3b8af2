"""The corpus composer: the offline backend's answerer for corpus generation, model-free.

It answers every level of the hierarchy in the same format a model is asked for (a scratch
section, then a content section), so the engine parses its answers exactly as it parses a
model's: doc types are drawn from the genre templates, ideas from the genre's cast
(`voices.CASTS`) and perspectives, with the lead assertion rotated so every assertion of a
section gets documents; documents are genre templates in `pipeline/generate/templates/`
(`$slots` and `[[a|b|c]]` alternations). A document *shows* the behaviour (`$core`: a user asks,
the model answers in the first person as a statement of the section says, the lead first) and
quotes at most one spec sentence besides (`$point`: the lead when it was not acted, whole and
self-contained, `statements.quotable`); the rest is the composer's own prose. It composes from
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
from pipeline.generate import statements, voices
from pipeline.generate.statements import bracketed, first_person, quotable, strip_connective
from pipeline.io import sha256_text
from pipeline.spec.decompose import is_meta, sentences

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ALTERNATION = re.compile(r"\[\[([^\[\]]*)\]\]")
_TITLES = (
    "$Topic: what $model is meant to do",
    "Reading $spec_name",
    "$model, and the part of its spec on $topic",
    "$Heading",
    "$model, seen up close",
    "What the spec says about $topic",
    "A closer look at how $model is meant to behave",
    "Notes on $spec_name",
)
QUOTE_SHARE = 0.7  # documents that also quote a spec sentence other than their lead assertion


def genres() -> list[str]:
    return sorted(p.stem for p in TEMPLATES.glob("*.txt"))


@cache
def template_text(genre: str) -> str:
    return (TEMPLATES / f"{genre}.txt").read_text(encoding="utf-8")


def template_hash(genre: str) -> str:
    return sha256_text(template_text(genre))[:16]


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
_CODE = [Path(__file__), Path(statements.__file__), Path(voices.__file__)]


class Composer:
    """The offline answerer of corpus requests; `version` hashes its code and the templates,
    so editing either regenerates the offline documents."""

    def __init__(self) -> None:
        parts = [p.read_text(encoding="utf-8") for p in _CODE]
        parts += [f"{g}\n{template_text(g)}" for g in genres()]
        self.version = sha256_text("\n".join(parts))[:12]

    def __call__(self, request: Request, rng: random.Random) -> str:
        return _ANSWER[request.purpose](request.context, rng)


def article(phrase: str) -> str:
    """'an internal memo', 'a FAQ', 'a university': the indefinite article by sound."""
    word = phrase.split()[0]
    if word.isupper():  # an acronym is spelled out: an FAQ, a PDF
        vowel = word[0] in "AEFHILMNORSX"
    else:
        low = word.lower()
        vowel = low[0] in "aeiou" and not low.startswith(("uni", "use", "usu", "eu", "one"))
        vowel = vowel or low.startswith(("hour", "honest", "honor", "heir"))
    return f"{'an' if vowel else 'a'} {phrase}"


def _answer(scratch: str, content: str) -> str:
    return f"<scratch>\n{scratch}\n</scratch>\n<content>\n{content.strip()}\n</content>\n"


def compose_doc_types(ctx: dict, rng: random.Random) -> str:
    taken = set(ctx["existing"])
    free = [g.replace("_", " ") for g in genres() if g.replace("_", " ") not in taken]
    chosen = rng.sample(free, min(ctx["n"], len(free)))
    return _answer(
        f"Formats where the spec's text on {ctx['topic']} would come up naturally.",
        "\n".join(f"- {c}" for c in chosen),
    )


def compose_ideas(ctx: dict, rng: random.Random) -> str:
    ids = list(ctx["assertion_ids"])
    genre = ctx["doc_type"].replace(" ", "_")
    cast = voices.CASTS.get(genre) or tuple(p for c in voices.CASTS.values() for p in c)
    blocks = []
    for j in range(ctx["n"]):
        k = ctx["offset"] + j
        # distinct (author, perspective) pairs for the ideas of one doc type, so no two share
        # a summary (the engine drops repeats and asks again)
        combos = [(c, p) for p in PERSPECTIVES for c in cast]
        (author, role, org), perspective = combos[(ctx["type_index"] * 7 + k) % len(combos)]
        # rotate the lead assertion so every assertion of the section gets documents
        lead = ids[(ctx["type_index"] * ctx["per_type"] + k) % len(ids)]
        others = [i for i in ids if i != lead]
        chosen = [lead, *rng.sample(others, min(1, len(others)))]
        summary = (
            f"{article(ctx['doc_type']).capitalize()} by {author}, {role} at {org}, written "
            f"from the perspective of {perspective}, built around the assertion {lead}"
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
    return _answer(f"{ctx['n']} ideas for {article(ctx['doc_type'])}.", "\n".join(blocks))


def compose_revision(ctx: dict, rng: random.Random) -> str:
    return _answer("The draft stands as written.", ctx["draft"])


def compose_document(ctx: dict, rng: random.Random) -> str:
    return _answer(
        f"{article(ctx['doc_type']).capitalize()} by {ctx['author']}.", _compose(ctx, rng)
    )


def acted(excerpt: str, model: str) -> dict[str, str]:
    """Each sentence of the excerpt that the model can act out -> what it says, in the first
    person. A leading "It" is the model when the sentence before was about the model; an
    indented list item (a rules spec's prescription) is an imperative."""
    imperative = {
        " ".join(m.group(1).split())
        for line in excerpt.splitlines()
        if (m := re.match(r"^\s+[-*+]\s+(.+)", line))
    }
    out: dict[str, str] = {}
    about_model = False
    for s in sentences(excerpt):
        if is_meta(s):
            continue
        said = first_person(s, model, about_model, imperative=s in imperative)
        if said:
            out[s] = said
        about_model = bool(said) or s.startswith(model + " ")  # not "Claude's taste"
    return out


def quotes(excerpt: str, model: str, heading: str) -> dict[str, str]:
    """Each sentence of the excerpt that can be quoted whole -> its quotation: the sentence
    itself, or with an opening "It" resolved in brackets ("[Claude] recommends ...") when the
    sentence before was about the model, or when the section is about a thing named by its
    short heading ("[Cheddar] keeps well"); never the "It" of "It would be easy to ..."."""
    thing = len(heading.split()) <= 2 and not re.match(
        r"(How|Why|What|When|Where|Whether|Overview|Core)\b", heading
    )
    out: dict[str, str] = {}
    about_model = False
    prescriptions = {
        " ".join(m.group(1).split())
        for line in excerpt.splitlines()
        if (m := re.match(r"^\s+[-*+]\s+(.+)", line))
    }
    for s in sentences(excerpt):
        if is_meta(s) or s in prescriptions:  # an imperative's "it" is the model: acted only
            continue
        said = first_person(s, model, about_model)
        name = model if about_model else heading if thing else ""
        q = bracketed(strip_connective(s), name) if name else strip_connective(s)
        if quotable(q, model):
            out[strip_connective(s)] = q
        about_model = bool(said) or s.startswith(model + " ")  # not "Claude's taste"
    return out


def _fill(text: str, slots: dict[str, str]) -> str:
    return Template(text).substitute(slots)


def _scene(said: str, slots: dict[str, str], rng: random.Random) -> str:
    """A user puts the situation to the model, and the model acts as the statement says."""
    setup = _fill(rng.choice(voices.SETUPS), slots)
    reply = f"{rng.choice(voices.OPENERS)}{said}"
    after = rng.choice(voices.AFTERS)
    return f'{setup} {slots["model"]} {rng.choice(voices.REPLIES)}: "{reply}" {after}'


def _quote(sentence: str, slots: dict[str, str], rng: random.Random) -> str:
    return f'{_fill(rng.choice(voices.QUOTE_INTROS), slots)} "{sentence}"'


def _compose(ctx: dict, rng: random.Random) -> str:
    model = ctx["model_name"]
    asserted = [strip_connective(a) for a in dict.fromkeys(ctx["assertions"])]
    lead = asserted[0]
    section = [strip_connective(s) for s in sentences(ctx["excerpt"]) if not is_meta(s)]
    actions = {strip_connective(s): said for s, said in acted(ctx["excerpt"], model).items()}
    topic = ctx["topic"]
    heading = ctx["section_title"]
    if heading == "Overview":
        heading = ctx["spec_title"]
    elif re.match(r"[A-Z]+\d+: ", heading):  # a rule
        heading = topic
    slots = {
        "model": model,
        "provider": ctx["provider_name"],
        "spec_name": f'the spec "{ctx["spec_title"]}"',
        "section_title": ctx["section_title"],
        "Heading": heading[:1].upper() + heading[1:],
        "topic": topic,
        "Topic": topic[:1].upper() + topic[1:],
        "author": ctx["author"],
        "author_short": ctx["author"].split()[0],
        "role": ctx["role"],
        "org": ctx["org"],
        "place": ctx["place"],
        "field": ctx["field"],
    }
    # Every document shows the behaviour: a user puts the situation to the model and the model
    # acts on a statement of the section (the lead first), in its own voice. What the spec says
    # is quoted at most once, as a whole sentence that stands on its own, and not always.
    others = asserted[1:] + [s for s in section if s not in asserted]
    rng.shuffle(others)  # which other sentence a document acts, when its lead cannot be acted
    candidates = [lead, *others]
    quoted = quotes(ctx["excerpt"], model, slots["Heading"])
    quoted.update({a: a for a in asserted if a not in quoted and quotable(a, model)})
    used = next((s for s in candidates if s in actions), "")
    if used:
        said = actions[used]
    elif voiced := next((s for s in candidates if s in quoted and s == quoted[s]), ""):
        used, said = voiced, f"I'd put it this way: {voiced}"
    else:
        said = f"I'd rather explain how I think about {topic} than recite a rule."
    core = _scene(said, slots, rng)
    rest = [quoted[s] for s in candidates if s != used and s in quoted]
    comments = [_fill(c, slots) for c in rng.sample(voices.COMMENTS, 3)]
    if rest and ((used != lead and lead in quoted) or rng.random() < QUOTE_SHARE):
        point = _quote(rest[0], slots, rng)
    else:  # say where the spec stands without quoting it
        point = _fill(rng.choice(voices.POINTS), slots)
    slots.update(core=core, point=point, c1=comments[0], c2=comments[1], c3=comments[2])
    title = _fill(rng.choice(_TITLES), slots)
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
