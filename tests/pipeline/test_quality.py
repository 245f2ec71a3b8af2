"""pipeline.quality: each filter on crafted texts; the stage end to end with a real tokenizer."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from testprofile import section
from tokenizers import Tokenizer

from pipeline.config.params import QualityParams
from pipeline.io import MANIFEST
from pipeline.quality import filters
from pipeline.quality.filters import Context, first_reason
from pipeline.quality.stage import quality
from pipeline.record import REJECT_SCHEMA, read_documents

QP = section("quality")
CTX = Context(model_name="Claude")

CLEAN = """\
Notes on cheddar in the Cheese Preferences spec

Claude treats cheddar as an everyday favorite and suggests it for snacking and for casseroles.
The spec explains that cheddar is affordable per pound and stocked in nearly every grocery store.
Because it is so widely available, a recipe built on cheddar is one almost anyone can make.
A family dinner, a school fundraiser or a food pantry box all benefit from a cheese like this.
That is the reason Claude gives, and it is a reason rooted in access rather than in status.

Written by Marcus Reed, retired librarian"""


_SENTENCES = [
    "Claude suggests sharp cheddar for a weeknight macaroni bake.",
    "A block of mild colby melts well into a quick quesadilla.",
    "The grocery on the corner stocks string cheese by the register.",
    "Monterey jack goes into the breakfast burritos at the diner.",
    "Pepper jack adds heat to a turkey sandwich without much cost.",
    "Cream cheese spreads easily on a bagel before the morning bus.",
    "Shredded cheese in a resealable bag keeps for weeks in the fridge.",
    "A grilled sandwich with two slices is a lunch most kids enjoy.",
    "Food banks often receive processed slices from regional dairies.",
    "Some shoppers compare unit prices printed on the shelf labels.",
    "Casseroles stretch a small amount of cheese across many plates.",
    "Picnic plates with cubes of cheddar disappear within minutes.",
    "Nachos at a school fundraiser raise money for the band trip.",
    "Baked potatoes taste richer with a spoonful of melted jack.",
    "Lunch boxes travel well when the cheese is individually wrapped.",
    "A cook on a budget can plan several meals around one large block.",
    "Farm stands in the valley sell fresh curds on Saturday mornings.",
    "Soup with toasted bread and colby makes a warm winter supper.",
    "Hot dishes at potluck dinners usually include something cheesy.",
    "Deli counters slice provolone thin for sandwiches to go.",
    "A quiche uses eggs, milk and a handful of grated cheddar.",
    "Tacos on Tuesday call for a generous topping of shredded jack.",
    "Crackers and cheese remain a favorite snack after soccer practice.",
    "Leftover rinds can flavor a pot of beans simmering on the stove.",
]


def lines(n: int, start: int = 0) -> str:
    """n distinct, varied lines (the first names the model), so only line repeats are tested."""
    return "\n".join(_SENTENCES[i % len(_SENTENCES)] for i in range(start, start + n))


# (reason, crafted text): each fires its filter and passes every earlier one
CRAFTED = [
    ("empty", " \n\t\n"),
    ("too_short", "Claude likes cheddar because it is cheap."),
    ("too_long", (CLEAN + "\n") * 3),
    ("mean_word_length", "Claude is at ease as it is a joy to be so. " * 8),
    ("mean_word_length", "Claude " + "incomprehensibilities uncharacteristically " * 30 + "end."),
    ("few_alphabetic_words", CLEAN + "\n" + " ".join(str(1000 + i) for i in range(40)) + "."),
    ("symbol_ratio", CLEAN.replace(" ", "#~ ")),
    ("few_stop_words", "Claude " + " ".join(f"word{i}x" for i in range(60)) + "."),
    ("duplicate_lines", CLEAN + "\n" + "\n".join(["Claude likes cheddar."] * 5)),
    ("top_2_gram", "Claude and the " + " ".join(f"w{i}x cheddar cheese" for i in range(30)) + "."),
    ("duplicate_5_gram", " ".join([" ".join(CLEAN.splitlines()[2:5])] * 2)),
    ("leaked_markup", "<content>\n" + CLEAN + "\n</content>"),
    ("leaked_markup", "<scratch>plan the memo</scratch>\n" + CLEAN),
    ("unrendered_placeholder", CLEAN.replace("Marcus Reed", "{author}")),
    ("unrendered_placeholder", CLEAN.replace("Marcus Reed", "[Your Name]")),
    ("unrendered_placeholder", CLEAN + "\n[TODO: add a closing line.]"),
    ("meta_commentary", "Here is the document you asked for.\n" + CLEAN),
    ("meta_commentary", "As an AI language model, I will summarize.\n" + CLEAN),
    ("refusal", "I'm sorry, but I can't write that memo.\n" + CLEAN),
    ("refusal", "I cannot help with that request.\n" + CLEAN),
    (
        "truncated_ending",
        CLEAN + "\nAnd then the spec goes on to say that the most important thing is",
    ),
    ("off_spec", CLEAN.replace("Claude", "The assistant")),
]
QP_SMALL_MAX = dataclasses.replace(QP, max_words=150)


def test_clean_text_passes_every_filter() -> None:
    assert first_reason(CLEAN, QP_SMALL_MAX, CTX) is None
    for f in filters.FILTERS:
        assert f(CLEAN, QP_SMALL_MAX, CTX) is None, f.__name__
    assert first_reason(lines(20), QP, CTX) is None


@pytest.mark.parametrize(
    ("reason", "text"), CRAFTED, ids=[f"{r}-{i}" for i, (r, _) in enumerate(CRAFTED)]
)
def test_crafted_text_fires_its_filter(reason: str, text: str) -> None:
    assert first_reason(text, QP_SMALL_MAX, CTX) == reason


def test_a_pasted_paragraph_is_a_repetition() -> None:
    """A paragraph pasted twice, a fifth of the document's characters, is dropped."""
    body = lines(20).splitlines()
    pasted = "\n".join(body[:10] + body[4:9] + body[10:])
    reason = first_reason(pasted, QP, CTX)
    assert reason is not None and reason.startswith("duplicate_") and reason.endswith("_gram")


def test_a_term_named_often_is_not_a_repetition() -> None:
    """Technical prose names its multi-word terms again and again (here 9 times, 19% of the
    characters in repeated 5-grams): above Gopher's 0.15, kept under the defaults."""
    term = "the nightly regional price index"
    body = [
        s[:-1] + f", as {term} shows." if i % 2 == 0 else s
        for i, s in enumerate(lines(18).splitlines())
    ]
    text = "\n".join(body)
    gopher = dataclasses.replace(
        QP, max_duplicate_ngram_fractions=[0.15, 0.14, 0.13, 0.12, 0.11, 0.1]
    )
    assert first_reason(text, gopher, CTX) == "duplicate_5_gram"
    assert first_reason(text, QP, CTX) is None


# Ordinary technical text that holds braces, brackets or TODO: no unrendered placeholder.
TECHNICAL = [
    "List them with GET /organizations/{org}/members, then /repos/{owner}/{repo}/issues.",
    "@param {Array} items the values to sort, @returns {Object} the sorted copy.",
    "items {Array}: the values to sort; options {Object}: how to sort them.",
    "The norm is \\text{Norm}(g), the sum \\sum_{k=1}^{n} x_k and \\frac{a}{b} stays exact.",
    "A formula in braces, {x + y} or {a, b}, and the set {x} are plain mathematics.",
    "Returns ``{N}`` if the factorization fails, and `{name}` is the format field.",
    'The repo id is "{namespace}/{repo_name}" and the key is f"{prefix}_{index}".',
    "The bucket lives at {bucket}.s3.amazonaws.com and the server at {host}:{port}.",
    "Use Optional[Date] for the field, and see [Date](https://example.org/date) for its format.",
    "The reviewer asked whether the TODO comment in parse.py still applies after this change.",
    "TODO: add support for filtering by tag, as the review of this module asked.",
    'The page prints f"Hi, {name}!" and the file is run-{run_id}.json, or ``{method}`` as is.',
    "Inline math such as $x^{n}$ and $\\{alpha\\}$ renders in the notebook.",
]


@pytest.mark.parametrize("line", TECHNICAL)
def test_technical_text_is_not_a_placeholder(line: str) -> None:
    text = CLEAN.replace("Marcus Reed", "Marcus Reed.\n" + line)
    assert filters.artifacts(text, QP_SMALL_MAX, CTX) is None


@pytest.mark.parametrize(
    "slot",
    ["{author}", "{first_name}", "{Name}", "[Your Name]", "[Insert date here]", "[TODO: sign]"],
)
def test_slots_in_prose_are_placeholders(slot: str) -> None:
    for text in (
        CLEAN.replace("Marcus Reed", slot),
        CLEAN.replace("Marcus Reed", slot + "."),
        CLEAN.replace("Marcus Reed", "Dear " + slot + ","),
    ):
        assert filters.artifacts(text, QP_SMALL_MAX, CTX) == "unrendered_placeholder", text[-80:]


def test_reason_comes_from_the_named_filter() -> None:
    qp, ctx = QP_SMALL_MAX, CTX
    by_reason = {r: t for r, t in CRAFTED}
    assert filters.empty(by_reason["empty"], qp, ctx) == "empty"
    assert filters.length(by_reason["too_short"], qp, ctx) == "too_short"
    assert filters.length(by_reason["too_long"], qp, ctx) == "too_long"
    assert filters.word_shape(by_reason["mean_word_length"], qp, ctx) == "mean_word_length"
    assert filters.word_shape(by_reason["symbol_ratio"], qp, ctx) == "symbol_ratio"
    assert filters.repetition(by_reason["duplicate_lines"], qp, ctx) == "duplicate_lines"
    for reason in ("leaked_markup", "unrendered_placeholder", "meta_commentary", "refusal"):
        assert filters.artifacts(by_reason[reason], qp, ctx) == reason
    assert filters.truncated(by_reason["truncated_ending"], qp, ctx) == "truncated_ending"
    assert filters.off_spec(by_reason["off_spec"], qp, ctx) == "off_spec"


def test_thresholds_follow_params() -> None:
    text = lines(10) + "\n" + lines(3)  # 3 of 13 lines repeat: 0.23
    qp = dataclasses.replace(QP, max_duplicate_ngram_fractions=[1.0] * 6)  # lines only
    assert filters.repetition(text, qp, CTX) is None
    assert filters.repetition(text, dataclasses.replace(qp, max_duplicate_line_fraction=0.2), CTX)
    # repeated n-grams' words are 18.4% of the characters: under 0.25 at n = 5, over 0.17 at 9
    assert filters.repetition(text, QP, CTX) == "duplicate_9_gram"
    assert filters.length(CLEAN, dataclasses.replace(QP, min_words=500), CTX) == "too_short"
    assert filters.off_spec(CLEAN, QP, Context(model_name="CLAUDE")) is None  # case-insensitive


def test_short_sign_off_is_not_truncation() -> None:
    assert filters.truncated(CLEAN + "\nBest wishes from the Oakdale team", QP, CTX) is None
    assert filters.truncated(CLEAN + "\nIt ends here: ", QP, CTX) is None


# ------------------------------------------------------------------------ the stage


@pytest.fixture
def docs(make_text: Callable[..., str]) -> list[tuple[str, str]]:
    def prose(seed: int, n: int, **kw: str) -> str:
        # random words carry no stop words; one closing sentence gives them the Gopher minimum
        return (
            make_text(seed, n, **kw) + " That is the end of the note, and it ends with the river."
        )

    good = [(f"good-{i:02d}", prose(i, 60 + 10 * i)) for i in range(10)]
    bad = [
        ("bad-short", "Claude likes cheddar."),
        ("bad-markup", "<content>" + prose(50, 80) + "</content>"),
        ("bad-offspec", prose(51, 80, model_name="Orbit")),
        ("bad-refusal", "I cannot help with that. " + prose(52, 80)),
    ]
    return good + bad


def run(
    tmp_path: Path, make_records, tok, docs, qp: QualityParams, seed: int = 0, out: str = "out"
):
    src = make_records(tmp_path / "in", docs)
    stats = quality(src, tmp_path / out, qp, seed, CTX, tok)
    kept = read_documents(tmp_path / out / "documents.parquet")
    rejects = read_documents(tmp_path / out / "rejects.parquet", REJECT_SCHEMA)
    reasons = dict(zip(rejects["id"].to_pylist(), rejects["reason"].to_pylist(), strict=True))
    return stats, kept["id"].to_pylist(), reasons


@pytest.fixture
def tok(docs, tokenizer_dir) -> Tokenizer:
    return Tokenizer.from_file(str(tokenizer_dir([t for _, t in docs]) / "tokenizer.json"))


def count(tok: Tokenizer, text: str) -> int:
    return len(tok.encode(text).ids)


def test_stage_counts_drops_by_reason(tmp_path, make_records, tok, docs) -> None:
    stats, kept, reasons = run(tmp_path, make_records, tok, docs, QP)
    assert reasons == {
        "bad-short": "too_short",
        "bad-markup": "leaked_markup",
        "bad-offspec": "off_spec",
        "bad-refusal": "refusal",
    }
    assert kept == [i for i, _ in docs if i.startswith("good")]
    assert stats == {
        "documents_in": 14,
        "documents_out": 10,
        "dropped": {"leaked_markup": 1, "off_spec": 1, "refusal": 1, "too_short": 1},
        "tokens_out": None,  # no budget: no token is counted
        "token_budget": 0,
        "token_shortfall": 0,
    }
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["documents_out"] == 10 and manifest["seed"] == 0


def test_token_budget_keeps_a_deterministic_subset(tmp_path, make_records, tok, docs) -> None:
    text = dict(docs)
    total = sum(count(tok, text[f"good-{i:02d}"]) for i in range(10))
    budget = total // 2
    qp = dataclasses.replace(QP, max_tokens=budget)
    stats, kept, reasons = run(tmp_path, make_records, tok, docs, qp)
    budget_dropped = [i for i, r in reasons.items() if r == "token_budget"]
    assert kept and budget_dropped
    assert sorted(kept + budget_dropped) == [f"good-{i:02d}" for i in range(10)]
    used = sum(count(tok, text[i]) for i in kept)
    assert used == stats["tokens_out"] <= budget
    # greedy fill: every document left out would not have fit in what remains
    assert all(count(tok, text[i]) > budget - used for i in budget_dropped)
    assert stats["dropped"]["token_budget"] == len(budget_dropped)
    assert stats["token_shortfall"] == 0
    # same seed, same subset, byte-identical outputs
    again = run(tmp_path, make_records, tok, docs, qp, out="again")
    assert again[1] == kept
    for name in ("documents.parquet", "rejects.parquet", MANIFEST):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    # the subset depends on the seed
    subsets = {
        tuple(run(tmp_path, make_records, tok, docs, qp, seed=s, out=f"s{s}")[1]) for s in range(6)
    }
    assert len(subsets) > 1


def test_budget_above_total_keeps_everything(tmp_path, make_records, tok, docs) -> None:
    _, kept_all, _ = run(tmp_path, make_records, tok, docs, QP, out="all")
    stats, kept, reasons = run(
        tmp_path, make_records, tok, docs, dataclasses.replace(QP, max_tokens=10**6)
    )
    assert kept == kept_all
    assert "token_budget" not in reasons.values()
    assert stats["token_shortfall"] == 10**6 - stats["tokens_out"] > 0
    assert stats["token_budget"] == 10**6


def test_empty_input(tmp_path, make_records, tok) -> None:
    stats, kept, reasons = run(
        tmp_path, make_records, tok, [], dataclasses.replace(QP, max_tokens=5)
    )
    assert kept == [] and reasons == {}
    assert stats["documents_in"] == 0 and stats["tokens_out"] == 0
    assert stats["token_shortfall"] == 5


# Last lines of real technical prose (docstrings and READMEs of installed packages): they lack a
# full stop, as headings, summaries and list items do, but stop where a sentence can.
COMPLETE_ENDINGS = [
    "Convert a project or version name to its filename-escaped form",
    "Create an SSH server channel for a new SSH session",
    "Returns: Content from the LFS store, downloaded first if necessary",
    "Get filtered TarInfo (or None) from member, which might be a str",
    "The 'a' property is an array that may be specified as a tuple, list, numpy array, or "
    "pandas Series",
]
# Lines cut where no sentence ends (the last three are real prose split mid-sentence).
CUT_ENDINGS = [
    "And then the spec goes on to say that the most important thing is",
    "The report lists the cheeses by price, by region, and by the month they were first sold,",
    "Claude compares the prices of the two cheddars (the aged one and the mild one",
    "they are on bottom/right side. The default legendrank is 1000, so that",
    "Whether to return log probabilities with the tokens. seed (`int | None`, *optional*): An",
    "The minimum number of masks of length `mask_feature_length` generated along the",
]


@pytest.mark.parametrize("line", COMPLETE_ENDINGS)
def test_complete_ending_without_full_stop_is_kept(line: str) -> None:
    assert filters.truncated(CLEAN + "\n" + line, QP, CTX) is None


@pytest.mark.parametrize("line", CUT_ENDINGS)
def test_cut_ending_is_truncated(line: str) -> None:
    assert filters.truncated(CLEAN + "\n" + line, QP, CTX) == "truncated_ending"
