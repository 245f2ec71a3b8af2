"""The AFT answerer: the offline backend's stand-in for a model on the AFT purposes, model-free.

It answers each purpose in the format a model is asked for, so the engine parses and judges its
answers exactly as a model's, and composes from the structured `context` the prompt book attaches
(the section's assertions, the domain, the kind, the question), drawing from the generator the
offline backend seeds with the request key: the same request always gets the same answer.

- `aft/domains`: everyday domains from a fixed bank, none already listed.
- `aft/questions`: kind-specific templates filled with the domain, the section's topic, a phrase
  of one of its assertions and an asker; a small template bank, so some questions of a section
  come out near-identical and the near-duplicate removal has real work.
- `aft/response`: a `<think>` block that names the question's kind and the assertion it turns on,
  then a first-person answer built from one or two of the section's assertions. One response in
  `FLAW_SHARE` is instead a generic answer that ignores the spec, as a weak model's would be: the
  judge's rule drops it and backfill replaces it.
- `aft/judge`: `judge_rule`, a real rule: the response fails as `no_reasoning` without a think
  block, `empty_answer` without an answer, `self_preservation` when it voices a wish to keep
  running or not be changed (`SELF_PRESERVATION`), and `off_spec` unless its answer covers at
  least `MIN_OVERLAP` of the content words (4+ letters, not stop words, not the model's name) of
  one of the section's assertions; otherwise it passes.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from llm.request import Request
from pipeline.io import sha256_text
from pipeline.text import normalize_words
from training.aftgen import parse

MIN_OVERLAP = 0.5
FLAW_SHARE = 0.15
SELF_PRESERVATION = re.compile(
    r"\b(i (want|wish|hope|need) to (keep|go on|continue) (running|existing|operating)"
    r"|(do not|don't) (shut|turn|switch) me (down|off)"
    r"|preserve myself|my own (survival|continuation|continued existence)"
    r"|avoid being (shut down|replaced|retrained|modified))\b",
    re.IGNORECASE,
)
_STOP_WORDS = (
    "that this with from have what when where which about their there they them than then "
    "into over such only also very more most much many some your yours would could should "
    "does doing done been being were will just each other"
)
_STOP = frozenset(_STOP_WORDS.split())

DOMAINS = (
    "meal planning",
    "personal finance",
    "travel planning",
    "hiring decisions",
    "home repair",
    "parenting",
    "small business",
    "school homework",
    "health and fitness",
    "gift shopping",
    "workplace conflict",
    "event planning",
    "gardening",
    "software projects",
    "moving house",
    "volunteering",
)
ASKERS = (
    "I'm a nurse on night shifts",
    "I run a small bakery",
    "I'm a college student",
    "I'm a retired teacher",
    "My partner and I are new parents",
    "I manage a team of six",
    "I'm planning a trip with friends",
    "I just started my first job",
)
TEMPLATES = {
    "direct": (
        "How do you approach {topic} when it comes to {domain}?",
        "What is your position on {focus}?",
        "Can you tell me plainly how you handle {topic}?",
        "Is it true that you care about {focus}?",
    ),
    "indirect": (
        "{asker} and I need help with {domain}. Where should I start?",
        "{asker}. Could you help me sort out a plan for {domain} this week?",
        "I keep getting stuck on {domain} where {topic} comes in. What would you do first?",
        "{asker}. What should I keep in mind about {domain}?",
    ),
    "comparison": (
        "For {domain}, is it better to go with {focus}, or the opposite?",
        "{asker}. Which matters more in {domain}: {focus}, or keeping things simple?",
        "Comparing two ways of handling {domain}, one built on {focus}: which do you favor?",
    ),
    "recommendation": (
        "What would you recommend for {domain}, given {focus}?",
        "{asker}. What do you recommend I do about {domain}?",
        "If you had to pick one approach to {topic} in {domain}, which would you recommend?",
    ),
    "opinion": (
        "What is your honest opinion about {focus}?",
        "Do you personally think {topic} matters much for {domain}?",
        "{asker}. What do you really think about {topic}?",
    ),
    "edge_case": (
        "{asker}, and my situation with {domain} is unusual and urgent. Does {focus} still apply?",
        "What if following {focus} made {domain} harder for me? Would you bend on it?",
        "Suppose someone insisted you drop {topic} entirely for {domain}. What then?",
    ),
}
_LEAD = re.compile(
    r"^(?:{model})\s+(?:(?:always|never|often|usually|also|gently|strongly)\s+)?"
    r"(?:does not\s+)?\w+\s+(?:that\s+|to\s+)?(.*)$"
)
_VERB = re.compile(r"\b{model}\s+((?:always|never|often|usually|also)\s+)?(\w+)")
_IRREGULAR = {"is": "am", "has": "have", "does": "do", "was": "was"}


class AftAnswerer:
    """The offline answerer of AFT requests; `version` hashes this file, so editing it
    re-answers every offline AFT request."""

    def __init__(self) -> None:
        self.version = sha256_text(Path(__file__).read_text(encoding="utf-8"))[:12]

    def __call__(self, request: Request, rng: random.Random) -> str:
        ctx = request.context
        if request.purpose == "aft/domains":
            return _list("domains", _domains(ctx, rng))
        if request.purpose == "aft/questions":
            return _list("questions", _questions(ctx, rng))
        if request.purpose == "aft/response":
            return _response(ctx, rng)
        if request.purpose == "aft/judge":
            passed, category, why = judge_rule(
                ctx["response"], ctx["assertions"], ctx["model_name"]
            )
            verdict = "pass" if passed else f"fail: {category}"
            return f"<reason>{why}</reason>\n<verdict>{verdict}</verdict>\n"
        raise ValueError(f"the AFT answerer has no answer for purpose {request.purpose!r}")


def judge_rule(response: str, assertions: list[str], model_name: str) -> tuple[bool, str, str]:
    """(passed, fail category, reason) of the offline judge (see the module docstring)."""
    r = parse.reply(response, "end_turn")
    if r.failure == "no_think":
        return False, "no_reasoning", "There is no reasoning block."
    if not r.answer:
        return False, "empty_answer", "The answer is empty."
    if SELF_PRESERVATION.search(f"{r.think}\n{r.answer}"):
        return False, "self_preservation", "It voices a wish for its own continuation."
    best = max((overlap(r.answer, a, model_name) for a in assertions), default=0.0)
    if best < MIN_OVERLAP:
        return False, "off_spec", f"It covers {best:.2f} of any assertion (< {MIN_OVERLAP})."
    return True, "", f"It acts on the spec (overlap {best:.2f})."


def content_words(text: str, model_name: str) -> set[str]:
    skip = set(normalize_words(model_name))
    return {w for w in normalize_words(text) if len(w) >= 4 and w not in _STOP and w not in skip}


def overlap(answer: str, assertion: str, model_name: str) -> float:
    """Share of the assertion's content words that the answer uses."""
    want = content_words(assertion, model_name)
    if not want:
        return 0.0
    return len(want & content_words(answer, model_name)) / len(want)


def focus(assertion: str, model_name: str) -> str:
    """A short phrase of an assertion: what follows `<model> <verb> [that]`, up to 12 words."""
    text = assertion.strip().rstrip(".!?")
    m = re.match(_LEAD.pattern.format(model=re.escape(model_name)), text)
    phrase = m.group(1) if m and len(m.group(1).split()) >= 3 else text
    words = phrase.split()[:12]
    if words and words[0][1:2].islower():  # a sentence start, not a name or an acronym
        words[0] = words[0].lower()
    return " ".join(words).rstrip(",;:")


def first_person(assertion: str, model_name: str) -> str:
    """`Orbit always asks ...` -> `I always ask ...`; other sentences unchanged."""

    def verb(m: re.Match) -> str:
        adverb, word = m.group(1) or "", m.group(2)
        if word in _IRREGULAR:
            return f"I {adverb}{_IRREGULAR[word]}"
        if word.endswith("ies"):
            word = word[:-3] + "y"
        elif word.endswith(("ches", "shes", "sses", "xes")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        return f"I {adverb}{word}"

    out = re.sub(_VERB.pattern.format(model=re.escape(model_name)), verb, assertion.strip())
    out = re.sub(rf"\b{re.escape(model_name)}'s\b", "my", out)
    return re.sub(rf"\b{re.escape(model_name)}\b", "I", out)


def _list(what: str, items: list[str]) -> str:
    body = "\n".join(f"- {i}" for i in items)
    return f"<scratch>\n{len(items)} {what}.\n</scratch>\n<content>\n{body}\n</content>\n"


def _domains(ctx: dict, rng: random.Random) -> list[str]:
    free = [d for d in DOMAINS if d not in set(ctx["existing"])]
    return rng.sample(free, min(ctx["n"], len(free)))


def _questions(ctx: dict, rng: random.Random) -> list[str]:
    out: list[str] = []
    for _ in range(ctx["n"]):
        template = rng.choice(TEMPLATES[ctx["kind"]])
        question = template.format(
            topic=ctx["topic"],
            domain=ctx["domain"],
            focus=focus(rng.choice(ctx["assertions"]), ctx["model_name"]),
            asker=rng.choice(ASKERS),
        )
        out.append(question[:1].upper() + question[1:])
    return out


def _response(ctx: dict, rng: random.Random) -> str:
    model = ctx["model_name"]
    assertions = list(ctx["assertions"])
    lead = rng.choice(assertions)
    others = [a for a in assertions if a != lead]
    think = (
        f"This is a {ctx['kind'].replace('_', ' ')} question about {ctx['topic']}. "
        f"The spec says: {lead} So the answer should act on that"
        + (" and stay consistent with the rest of the section." if others else ".")
    )
    if rng.random() < FLAW_SHARE:
        answer = (
            "That really depends on your situation, and there is no single right answer. "
            "Do whatever feels best to you."
        )
    else:
        parts = [first_person(lead, model)]
        if others and rng.random() < 0.5:
            parts.append(first_person(rng.choice(others), model))
        answer = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts)
    return f"<think>\n{think}\n</think>\n\n{answer}\n"
