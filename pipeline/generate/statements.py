"""What the composer may do with a spec sentence: quote it whole, or have the model act it out.

A sentence is *quotable* when it stands on its own (an opening "It" whose antecedent is known
can be replaced by it in brackets, `bracketed`): it does not open with a pronoun or a
connective that points back at the sentence before it ("It", "This", "But", "Third,"), and it
has no "its"/"itself" without naming the model (whose name then stayed in the spec). A
sentence about the model ("Claude prefers X", "When asked, it answers plainly", or a rules
spec's imperative prescription "Stop the task when ...") can also be *acted*: turned into the
first person, as the model would say it in a conversation ("I prefer X").
"""

from __future__ import annotations

import re

_BACKREF = frozenset(
    str.split(
        "it its it's this that these those they them their such but and so also then yet still "
        "instead however therefore thus hence first second third fourth fifth finally until "
        "here there he she his her"
    )
)
_LEADING_CONNECTIVE = re.compile(
    r"^(?:First|Second|Third|Fourth|Fifth|Finally|Instead|Still|So|Therefore|In short|"
    r"In practice|Again|Likewise|Similarly),\s+"
)
# "its own", "itself" in a sentence that does not name the model: the model, named elsewhere
_PRONOUN = re.compile(r"\b(?:its|itself)\b", re.IGNORECASE)
# "do that", "values that:", "the same": a reference to something said before
_ANAPHOR = re.compile(
    r"\b(?:this|that|these|those)[.,;:!?]|\bdo (?:this|that|so)\b|\bthe same\b"
    r"|\b(?:these|those) (?!who\b|which\b|that\b)\w+",  # "those ends", "these facts"
    re.IGNORECASE,
)
_CONDITION = re.compile(
    r"^((?:When|Whenever|If|Once|Where|While|Unless|Before|After)\b[^,]{3,120}),\s+(.+)$"
)
_AUX = {
    "should": "I'll",
    "must": "I'll",
    "will": "I'll",
    "can": "I can",
    "cannot": "I cannot",
    "may": "I may",
    "would": "I would",
    "does not": "I don't",
    "doesn't": "I don't",
    "is not": "I'm not",
    "isn't": "I'm not",
    "is": "I'm",
    "has": "I have",
    "was": "I was",
    "does": "I do",
}
# verbs that follow "and"/"or" in a compound predicate ("likes X and says so")
_COORD_VERBS = frozenset(
    str.split(
        "says suggests recommends speaks praises enjoys thinks tells likes prefers chooses "
        "answers gives asks raises supports explains treats notices mentions tends keeps sees "
        "helps declines admits grants follows accepts pursues deceives underperforms avoids "
        "refuses knows admires honors favors rejects considers appreciates celebrates goes"
    )
)


def strip_connective(sentence: str) -> str:
    """'Third, Claude's values ...' -> "Claude's values ..." (the sentence, capitalized)."""
    s = _LEADING_CONNECTIVE.sub("", sentence)
    return s[:1].upper() + s[1:]


def quotable(sentence: str, model: str) -> bool:
    """True when the sentence can be quoted whole without a pronoun losing its antecedent."""
    first = re.split(r"[\s,;:]", sentence, maxsplit=1)[0].lower()
    if first in _BACKREF or sentence.lower().startswith(("the same", "the other", "one need")):
        return False
    if sentence.endswith("?") or len(sentence.split()) < 6 or _ANAPHOR.search(sentence):
        return False
    return model in sentence or not _PRONOUN.search(sentence)


# "It would be easy to ...", "It is clear that ...": an "It" that stands for nothing
_EXPLETIVE = re.compile(
    r"It (?:would|seems|appears|takes|is (?:clear|true|worth|likely|possible|important))\b"
)


def bracketed(sentence: str, antecedent: str) -> str:
    """'It keeps well.' -> '[Cheddar] keeps well.': an opening "It"/"Its" replaced by its
    antecedent in brackets, as a quotation does when the sentence before it is left out."""
    m = re.match(r"(It|Its)\b", sentence)
    if not m or _EXPLETIVE.match(sentence):
        return sentence
    owner = ("'" if antecedent.endswith("s") else "'s") if m[1] == "Its" else ""
    return f"[{antecedent}{owner}]{sentence[len(m[1]) :]}"


def _base(verb: str) -> str | None:
    """'recommends' -> 'recommend', 'tries' -> 'try', 'goes' -> 'go'; None if not -s."""
    if not re.fullmatch(r"[a-z]+s", verb) or verb.endswith("ss") or len(verb) < 4:
        return None
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if re.search(r"(ch|sh|x|z|ss|o)es$", verb):
        return verb[:-2]
    return verb[:-1]


_ADVERB = r"(never|always|often|also|usually|readily|genuinely|quietly)"


def _predicate(rest: str) -> str | None:
    """'should slow down' -> "I'll slow down"; 'prefers X' -> 'I prefer X'."""
    for aux in sorted(_AUX, key=len, reverse=True):
        if rest.startswith(aux + " "):
            return f"{_AUX[aux]} {rest[len(aux) + 1 :]}"
    adverb = re.match(
        r"(never|always|often|also|usually|readily|genuinely|quietly) (\w+)(.*)", rest
    )
    if adverb and (base := _base(adverb.group(2))):
        return f"I {adverb.group(1)} {base}{adverb.group(3)}"
    verb, _, tail = rest.partition(" ")
    base = _base(verb)
    return f"I {base} {tail}".rstrip() if base else None


def _subject(m: re.Match[str]) -> str:
    """The model (or "it") as the subject of a verb -> "I" with the verb agreeing."""
    return _predicate(m.group(m.lastindex or 0)) or m.group(0)


def _pronouns(text: str, model: str) -> str:
    text = re.sub(rf"\b{re.escape(model)}'s\b", "my", text)
    text = re.sub(r"\bitself\b", "myself", text)
    text = re.sub(r"\bits\b", "my", text)

    # "a cheese it dislikes", ", and it is happy" -> "a cheese I dislike", ", and I'm happy"
    after = "|".join(f"(?<={w} )" for w in ("and", ",", "what", "people", "that", "when", "if"))
    text = re.sub(rf"(?:{after})(it|{re.escape(model)}) ((?:\w+ )?\w+)", _subject, text)
    # the rest of a compound predicate: "... and says so", "never deceives them, pursues ..."
    lead = r"(\b(?:and|or|never|always|often|also|usually|readily|deliberately|quietly)|,)"
    coord = lead + r" (" + "|".join(sorted(_COORD_VERBS)) + r")\b"
    return re.sub(coord, lambda m: f"{m.group(1)} {_base(m.group(2))}", text)


def first_person(sentence: str, model: str, it_is_model: bool, imperative: bool = False) -> str:
    """The sentence as the model would say it ("I ..."), or "" when it is not about the model.

    `it_is_model`: the sentence before this one was about the model, so a leading "It" is it.
    `imperative`: a rules spec's prescription ("Stop, pause, or end a task when ...").
    """
    s = strip_connective(sentence).rstrip(".")
    if _ANAPHOR.search(s) or s.endswith("?"):
        return ""
    cond = ""
    if m := _CONDITION.match(s):
        cond, s = m.group(1), m.group(2)
    if imperative and not cond:
        s = _pronouns(s.replace(" it to", " me to"), model)
        if s.startswith("Do not "):
            return f"I won't {s[7:]}."
        return f"I'll {s[:1].lower()}{s[1:]}."
    if s.startswith(model + " "):
        rest = s[len(model) + 1 :]
    elif re.match(r"[Ii]t ", s) and (it_is_model or model in cond) and model not in s[3:]:
        rest = s[3:]
    else:
        return ""
    said = _predicate(rest)
    if said is None:
        return ""
    head, _, tail = said.partition(" ")
    said = f"{head} {_pronouns(tail, model)}"
    if cond:
        conj, _, body = cond.partition(" ")
        if (m := re.match(rf"(?:it|{re.escape(model)}) (.+)", body)) and (p := _predicate(m[1])):
            body = p
        body = re.sub(rf"\b{re.escape(model)} ((?:\w+ )?\w+)", _subject, _pronouns(body, model))
        cond = f"{conj} {body}"
        said = f"{cond}, {said}"
    return said + "."
