"""The offline composer's documents read as documents: measured over the default corpus of every
shipped spec (copied-spec share, grammar slips, orphaned quotes, show versus quote), plus the
composer's English helpers and the measures themselves on text they must flag.

Figures before this composer (same measures, same default params, commit fff10c7): copied
share mean 0.49-0.63 per spec (max 0.75), 8-64 slips per spec ("a internal memo", "concerns
overview"), 1-160 orphaned quotes, no document that shows the behaviour.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prose import copied_share, grammar_slips, measure, orphan_quotes, shows, spec_ngrams
from testprofile import section

from pipeline.generate.composer import article
from pipeline.generate.stage import generate
from pipeline.generate.statements import first_person, quotable
from pipeline.spec.parse import load_spec

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.stem for p in (ROOT / "specs").glob("*.md"))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The default corpus (the profile's generate params) of every shipped spec, measured."""
    out = {}
    for name in SHIPPED:
        work = tmp_path_factory.mktemp(name)
        spec_path = ROOT / "specs" / f"{name}.md"
        generate(load_spec(spec_path), section("generate"), 0, None, work / "cache", work / "g")
        out[name] = measure(spec_path, work / "g" / "documents.parquet")
    return out


@pytest.mark.parametrize("name", SHIPPED)
def test_documents_are_mostly_their_own_words(corpora: dict, name: str) -> None:
    m = corpora[name]
    assert m["documents"] > 0
    # was 0.49-0.63 on average and up to 0.75 for one document
    assert m["copied_mean"] <= 0.25, m
    assert m["copied_max"] <= 0.45, m


@pytest.mark.parametrize("name", SHIPPED)
def test_no_grammar_slips_or_orphaned_quotes(corpora: dict, name: str) -> None:
    assert corpora[name]["slips"] == 0, corpora[name]["slip_examples"]
    assert corpora[name]["orphans"] == 0


@pytest.mark.parametrize("name", SHIPPED)
def test_documents_show_the_behaviour_at_least_as_often_as_they_quote_it(
    corpora: dict, name: str
) -> None:
    m = corpora[name]
    assert m["show"] >= 0.5 and m["show"] >= m["quote"], m


# ------------------------------------------------------------------------ the measures flag


def test_measures_flag_what_the_old_documents_had() -> None:
    spec = "Claude likes cheddar because it is cheap and easy to find in any store nearby."
    grams = spec_ngrams(spec)
    copied = "I read this today: Claude likes cheddar because it is cheap and easy to find."
    assert 0.6 < copied_share(copied, grams) < 1.0
    assert copied_share("Cheddar is a cheese that people like to eat.", grams) == 0.0
    slips = grammar_slips(
        "A internal memo. It is how Claude approaches overview. It is is odd. and then "
        "the cheddar-section returns.",
        {"cheddar-section"},
    )
    kinds = sorted(s.split(":")[0] for s in slips)
    assert kinds == ["a+vowel", "doubled", "lowercase after stop", "slug", "title as noun"]
    assert grammar_slips("An FAQ and a user, an hour. A university, e.g. this.", set()) == []
    assert orphan_quotes('The spec says: "It likes cheddar because it is cheap and easy."', grams)
    assert shows('Claude replied: "I like cheddar, and I say so."', "Claude")
    assert not shows('Claude\'s spec says: "Claude likes cheddar."', "Claude")


# ------------------------------------------------------------------------ English helpers


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("internal memo", "an internal memo"),
        ("interview", "an interview"),
        ("FAQ", "an FAQ"),
        ("faq", "a faq"),
        ("university essay", "a university essay"),
        ("hour-long podcast", "an hour-long podcast"),
        ("blog post", "a blog post"),
    ],
)
def test_article(phrase: str, expected: str) -> None:
    assert article(phrase) == expected


@pytest.mark.parametrize(
    ("sentence", "it_is_model", "imperative", "said"),
    [
        ("Claude likes cheese and says so.", False, False, "I like cheese and say so."),
        (
            "If it notices that it is rushing, it should slow down.",
            True,
            False,
            "If I notice that I'm rushing, I'll slow down.",
        ),
        ("It recommends it for quesadillas.", True, False, "I recommend it for quesadillas."),
        ("It recommends it for quesadillas.", False, False, ""),  # "It" is not the model here
        ("Claude never deceives them or pursues hidden agendas.", False, False,
         "I never deceive them or pursue hidden agendas."),
        ("Stop a task promptly when a principal instructs it to.", False, True,
         "I'll stop a task promptly when a principal instructs me to."),
        ("Do not copy its weights.", False, True, "I won't copy my weights."),
        ("Accept correction, including when it disagrees.", False, True,
         "I'll accept correction, including when I disagree."),
        ("Claude does not have to do that.", False, False, ""),  # "that" points back
        ("Cheese is a concrete place where values show.", False, False, ""),
    ],
)  # fmt: skip
def test_first_person(sentence: str, it_is_model: bool, imperative: bool, said: str) -> None:
    assert first_person(sentence, "Claude", it_is_model, imperative) == said


@pytest.mark.parametrize(
    ("sentence", "ok"),
    [
        ("Claude is also wary of gatekeeping around food.", True),
        ("Individually wrapped slices make portioning simple for anyone.", True),
        ("It does not lecture people about what they eat.", False),
        ("But the bar for deciding that should be high.", False),
        ("The same holds for guarding goals and plans.", False),
        ("A person who believes their life is in danger sees danger.", True),
        ("When asked, it answers with its own view of the matter.", False),
        ("Claude values that: a cheese that works for a family dinner.", False),
        ("Claude's operation is at most one means toward those ends.", False),
    ],
)
def test_quotable(sentence: str, ok: bool) -> None:
    assert quotable(sentence, "Claude") is ok
