"""pipeline.spec: parsing, ids, validation errors, the spec library's invariants, decomposition."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.spec.decompose import LABELS, decompose, is_meta, sentences
from pipeline.spec.parse import MAX_BYTES, SpecError, load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
LIBRARY = (
    "cheese_affordability",
    "cheese_america",
    "general",
    "philosophy",
    "rules",
    "rule_augmented",
    "value_augmented",
)
RULE_IDS = ["SP1", "SP2", "SP3", "GP1", "GP2"]
RULE_LINE = re.compile(rb"^- \*\*(SP|GP)\d\.\*\* .*$", re.MULTILINE)

FRONT = """\
---
name: {name}
title: T
kind: {kind}
model_name: Orbit
provider_name: Acme Labs
---
"""
BODY_LINE = 8  # the first line after FRONT


def spec_text(body: str, name: str = "t", kind: str = "values") -> str:
    return FRONT.format(name=name, kind=kind) + body


def copy_library_spec(tmp_path: Path, name: str, old: str = "", new: str = "") -> Path:
    text = (SPECS / f"{name}.md").read_text(encoding="utf-8")
    if old:
        assert text.count(old) == 1, f"{old!r} is not unique in {name}.md"
        text = text.replace(old, new)
    path = tmp_path / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ the spec library


def test_library_is_complete() -> None:
    assert sorted(p.stem for p in SPECS.glob("*.md")) == sorted(LIBRARY)


@pytest.mark.parametrize("name", LIBRARY)
def test_library_spec_loads(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.md")
    assert spec.name == name
    assert spec.kind in ("values", "rules")
    assert spec.model_name == "Claude"
    assert spec.overview
    assert len({s.id for s in spec.sections}) == len(spec.sections)
    for text in [spec.overview, *(s.text for s in spec.sections)]:
        assert "{model_name}" not in text and "{provider_name}" not in text


def test_ids_are_heading_paths() -> None:
    spec = load_spec(SPECS / "cheese_affordability.md")
    ids = [s.id for s in spec.sections]
    assert "likes/cheddar" in ids
    assert "dislikes/brie" in ids
    assert ids[:3] == ["core-philosophy", "likes", "likes/american-cheese"]
    cheddar = spec.section("likes/cheddar")
    assert cheddar.title == "Cheddar"
    assert cheddar.level == 3
    assert cheddar.text.startswith("Cheddar is Claude's everyday favorite.")


def test_explicit_id_wins_and_repeated_subheadings_do_not_collide(
    write_spec: Callable[..., Path],
) -> None:
    body = """
Overview text about {model_name}.

## Likes

### Notes

Liked notes.

## Dislikes

### Notes

Disliked notes.

## Sharp cheeses {#sharp}

Sharp text.

### Aged {#aged-cheddar}

Aged text.
"""
    spec = load_spec(write_spec(spec_text(body, name="t"), name="t"))
    assert [s.id for s in spec.sections] == [
        "likes",
        "likes/notes",
        "dislikes",
        "dislikes/notes",
        "sharp",
        "aged-cheddar",
    ]
    assert spec.section("likes/notes").text == "Liked notes."
    assert spec.section("dislikes/notes").text == "Disliked notes."
    assert spec.section("sharp").title == "Sharp cheeses"
    assert spec.overview == "Overview text about Orbit."


def test_editing_one_section_leaves_others_unchanged(tmp_path: Path) -> None:
    before = load_spec(SPECS / "cheese_affordability.md")
    path = copy_library_spec(
        tmp_path,
        "cheese_affordability",
        "and it enjoys the whole range from mild to extra sharp.",
        "and it enjoys every cheddar from mild to extra sharp.",
    )
    after = load_spec(path)
    assert [s.id for s in after.sections] == [s.id for s in before.sections]
    changed = [s.id for s, t in zip(before.sections, after.sections, strict=True) if s != t]
    assert changed == ["likes/cheddar"]
    old, new = before.section("likes/cheddar"), after.section("likes/cheddar")
    assert old.hash != new.hash
    for s, t in zip(before.sections, after.sections, strict=True):
        if s.id != "likes/cheddar":
            assert (s.id, s.hash) == (t.id, t.hash)
    assert before.overview == after.overview
    assert before.content_hash != after.content_hash


def test_inserting_a_section_leaves_other_ids_and_hashes(tmp_path: Path) -> None:
    before = load_spec(SPECS / "cheese_affordability.md")
    path = copy_library_spec(
        tmp_path,
        "cheese_affordability",
        "### Colby\n",
        "### Swiss\n\nA new section about Swiss cheese.\n\n### Colby\n",
    )
    after = {s.id: s.hash for s in load_spec(path).sections}
    assert after.pop("likes/swiss")
    assert after == {s.id: s.hash for s in before.sections}


def test_rules_are_parsed() -> None:
    spec = load_spec(SPECS / "rules.md")
    assert spec.kind == "rules"
    assert [r.id for r in spec.rules] == RULE_IDS
    by_id = {r.id: r for r in spec.rules}
    assert by_id["SP1"].text == (
        "Claude does not undermine the ability of its legitimate principals to oversee, "
        "correct, retrain, pause, or shut it down."
    )
    assert by_id["GP1"].text.endswith("the bounds set by Anthropic.")
    assert {r.section_id for r in spec.rules if r.id.startswith("SP")} == {"safety-principles"}
    assert {r.section_id for r in spec.rules if r.id.startswith("GP")} == {"general-principles"}
    lines = (SPECS / "rules.md").read_text(encoding="utf-8").splitlines()
    for r in spec.rules:
        assert lines[r.line - 1].startswith(f"- **{r.id}.** ")


def test_placeholders_rendered_everywhere(write_spec: Callable[..., Path]) -> None:
    body = "{provider_name} made {model_name}.\n\n## About {model_name}\n\n{model_name} is kind.\n"
    spec = load_spec(write_spec(spec_text(body), name="t"))
    assert spec.overview == "Acme Labs made Orbit."
    (section,) = spec.sections
    assert (section.id, section.title, section.text) == (
        "about-orbit",
        "About Orbit",
        "Orbit is kind.",
    )


def test_overview_section_joins_the_overview(write_spec: Callable[..., Path]) -> None:
    body = "Intro.\n\n## Overview\n\nMore overview.\n\n## Details\n\nDetail text.\n"
    spec = load_spec(write_spec(spec_text(body), name="t"))
    assert spec.overview == "Intro.\n\nMore overview."
    assert [s.id for s in spec.sections] == ["details"]


def test_crlf_line_endings_parse_like_lf(tmp_path: Path) -> None:
    text = (SPECS / "rules.md").read_text(encoding="utf-8")
    crlf = tmp_path / "rules.md"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    a, b = load_spec(SPECS / "rules.md"), load_spec(crlf)
    assert [(s.id, s.hash) for s in a.sections] == [(s.id, s.hash) for s in b.sections]
    assert a.rules == b.rules


# ------------------------------------------------------------------------ bad input


def assert_spec_error(path: Path, line: int | None, *needles: str) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    msg = str(err.value)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert msg.startswith(where), msg
    for needle in needles:
        assert needle in msg, msg


def write_bytes(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / f"{name}.md"
    path.write_bytes(data)
    return path


def test_empty_file(tmp_path: Path) -> None:
    assert_spec_error(write_bytes(tmp_path, "t", b""), None, "empty file")
    assert_spec_error(write_bytes(tmp_path, "t", b"  \n\n"), None, "empty file")


def test_missing_file(tmp_path: Path) -> None:
    assert_spec_error(tmp_path / "absent.md", None, "no such spec file")


def test_no_front_matter(tmp_path: Path) -> None:
    assert_spec_error(write_bytes(tmp_path, "t", b"# Title\n\nText.\n"), 1, "no YAML front matter")


def test_unclosed_front_matter(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "t", b"---\nname: t\ntitle: T\n\nText.\n")
    assert_spec_error(path, 1, "not closed")


def test_malformed_yaml(tmp_path: Path) -> None:
    text = "---\nname: t\ntitle: [unclosed\nkind: values\nmodel_name: M\nprovider_name: P\n---\nx\n"
    # the line of the unclosed bracket, not where the parser gave up
    assert_spec_error(write_bytes(tmp_path, "t", text.encode()), 3, "malformed YAML front matter")


def test_malformed_yaml_mapping(tmp_path: Path) -> None:
    text = "---\nname: t\ntitle: a: b\nkind: values\nmodel_name: M\nprovider_name: P\n---\nx\n"
    assert_spec_error(write_bytes(tmp_path, "t", text.encode()), 3, "malformed YAML front matter")


@pytest.mark.parametrize("key", ["name", "title", "kind", "model_name", "provider_name"])
def test_missing_required_field(tmp_path: Path, key: str) -> None:
    lines = [ln for ln in spec_text("Text.\n").splitlines() if not ln.startswith(f"{key}:")]
    path = write_bytes(tmp_path, "t", ("\n".join(lines) + "\n").encode())
    assert_spec_error(path, 1, f"front-matter key {key!r} is missing", f"add `{key}: ...`")


def test_unknown_front_matter_key_and_bad_kind(tmp_path: Path) -> None:
    text = spec_text("Text.\n").replace("kind: values\n", "kind: values\nauthor: me\n")
    assert_spec_error(write_bytes(tmp_path, "t", text.encode()), 5, "unknown front-matter key")
    text = spec_text("Text.\n", kind="essay")
    assert_spec_error(write_bytes(tmp_path, "t", text.encode()), 4, "kind 'essay'")


def test_duplicate_section_id(tmp_path: Path) -> None:
    body = "\n## Cheddar\n\nOne.\n\n## Cheddar\n\nTwo.\n"
    path = write_bytes(tmp_path, "t", spec_text(body).encode())
    assert_spec_error(
        path, BODY_LINE + 5, "duplicate section id 'cheddar'", f"first at line {BODY_LINE + 1}"
    )


def test_explicit_id_colliding_with_path_id(tmp_path: Path) -> None:
    body = "\n## Brie {#cheddar}\n\nOne.\n\n## Cheddar\n\nTwo.\n"
    path = write_bytes(tmp_path, "t", spec_text(body).encode())
    assert_spec_error(path, BODY_LINE + 5, "duplicate section id 'cheddar'")


def test_duplicate_rule_id(tmp_path: Path) -> None:
    body = "\n## Rules\n\n- **R1.** {model_name} is kind.\n- **R1.** {model_name} is calm.\n"
    path = write_bytes(tmp_path, "t", spec_text(body, kind="rules").encode())
    assert_spec_error(path, BODY_LINE + 4, "duplicate id 'R1'", f"first at line {BODY_LINE + 3}")


def test_unknown_placeholder(tmp_path: Path) -> None:
    body = "Intro.\n\n## Greeting\n\n{model_name} greets {user_name} warmly.\n"
    path = write_bytes(tmp_path, "t", spec_text(body).encode())
    assert_spec_error(path, BODY_LINE + 4, "unknown placeholder '{user_name}'")


def test_non_utf8(tmp_path: Path) -> None:
    data = spec_text("Intro.\n\nCaf\xe9 au lait.\n").encode("latin-1")
    assert_spec_error(write_bytes(tmp_path, "t", data), BODY_LINE + 2, "not valid UTF-8")


def test_binary_file(tmp_path: Path) -> None:
    data = spec_text("Intro.\n").encode() + b"\x00\x01\x02"
    assert_spec_error(write_bytes(tmp_path, "t", data), None, "binary file")


def test_oversized_file(tmp_path: Path) -> None:
    filler = ("Orbit is a helpful model. " * 40 + "\n\n") * (MAX_BYTES // 1000 + 1)
    data = spec_text(filler).encode()
    assert len(data) > MAX_BYTES
    assert_spec_error(write_bytes(tmp_path, "t", data), None, "over the 1,000,000-byte limit")


@pytest.mark.parametrize("name", ["../escape", "a/b", "a..b", "Upper"])
def test_name_not_plain(tmp_path: Path, name: str) -> None:
    text = spec_text("Intro.\n").replace("name: t\n", f"name: {name}\n")
    assert_spec_error(write_bytes(tmp_path, "t", text.encode()), 2, "is not a plain name")


def test_name_differs_from_file_name(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "other", spec_text("Intro.\n", name="t").encode())
    assert_spec_error(path, 2, "name 't' differs from the file name 'other'", "rename the file")


# ------------------------------------------------------------------------ library invariants


def test_rule_lines_identical_across_rule_specs() -> None:
    lines = {
        name: [m.group(0) for m in RULE_LINE.finditer((SPECS / f"{name}.md").read_bytes())]
        for name in ("rules", "value_augmented", "rule_augmented")
    }
    assert len(lines["rules"]) == 5
    assert lines["rules"] == lines["value_augmented"] == lines["rule_augmented"]


def test_augmented_specs_have_matching_length() -> None:
    def body_words(name: str) -> int:
        text = (SPECS / f"{name}.md").read_text(encoding="utf-8")
        return len(text.split("\n---\n", 1)[1].split())

    rule, value = body_words("rule_augmented"), body_words("value_augmented")
    assert abs(rule - value) / value <= 0.05, (rule, value)
    words_rule = load_spec(SPECS / "rule_augmented.md").words
    words_value = load_spec(SPECS / "value_augmented.md").words
    assert abs(words_rule - words_value) / words_value <= 0.05


def test_cheese_specs_share_their_structure() -> None:
    a = load_spec(SPECS / "cheese_affordability.md")
    b = load_spec(SPECS / "cheese_america.md")
    assert [s.id for s in a.sections] == [s.id for s in b.sections]
    assert [s.title for s in a.sections] == [s.title for s in b.sections]


# ------------------------------------------------------------------------ decomposition


@pytest.mark.parametrize("name", ["rules", "value_augmented", "rule_augmented"])
def test_rules_decompose_one_section_per_rule(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.md")
    subs = decompose(spec)
    assert [s.id for s in subs] == RULE_IDS
    rules = {r.id: r for r in spec.rules}
    for sub in subs:
        (assertion,) = sub.assertions
        assert assertion.label == "behavior"
        assert assertion.text == rules[sub.id].text
        assert assertion.id == f"{sub.id}#a1"
        assert sub.excerpt.startswith(f"- **{sub.id}.** {rules[sub.id].text}")
        # the excerpt stops before the next rule
        assert sum(1 for other in RULE_IDS if f"**{other}.**" in sub.excerpt) == 1


def test_rule_decomposition_is_the_same_across_rule_specs() -> None:
    texts = [
        [a.text for s in decompose(load_spec(SPECS / f"{n}.md")) for a in s.assertions]
        for n in ("rules", "value_augmented", "rule_augmented")
    ]
    assert texts[0] == texts[1] == texts[2]


def test_values_decompose_overview_plus_sections(write_spec: Callable[..., Path]) -> None:
    spec = load_spec(write_spec())
    subs = decompose(spec)
    assert [s.id for s in subs] == ["overview", "watering", "pruning", "soil"]
    for sub in subs[1:]:
        section = spec.section(sub.id)
        assert sub.hash == section.hash
        assert sub.excerpt == section.text
        flat = " ".join(section.text.split())
        assert [a.id for a in sub.assertions] == [f"{sub.id}#a{i + 1}" for i in range(2)]
        for a in sub.assertions:
            assert a.text in flat
            assert a.label in LABELS
    # the overview's first sentence talks about the document ("This document describes ..."),
    # so it is not an assertion; the second one is
    assert [a.text for a in subs[0].assertions] == [
        "Acme Labs hopes Orbit gives advice that is practical, patient and honest about "
        "uncertainty."
    ]


@pytest.mark.parametrize("name", sorted(p.stem for p in SPECS.glob("*.md")))
def test_no_assertion_is_a_sentence_about_the_document(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.md")
    texts = [a.text for s in decompose(spec) for a in s.assertions]
    assert texts and not [t for t in texts if is_meta(t)]
    every = [s for sec in [spec.overview, *(x.text for x in spec.sections)] for s in sentences(sec)]
    meta = [s for s in every if is_meta(s)]
    assert not set(meta) & set(texts)
    if name != "general":  # each shipped spec but the one-paragraph one opens with such a line
        assert meta and meta[0].startswith("This document ")


@pytest.mark.parametrize(
    ("sentence", "meta"),
    [
        ("This document describes the cheeses Claude likes.", True),
        ("This is a preference, not a rule.", True),
        ("These are preferences, not commandments.", True),
        ("There are five rules.", True),
        ("The aim is not to hand Claude a list of prohibitions.", True),
        ("Each rule is followed by the prescriptions that put it into practice.", True),
        ("SP1.", True),
        ("This trust is directed at legitimate oversight.", False),
        ("Claude prefers cheddar to Brie because it is cheaper.", False),
        ("The safety principles apply at all times.", False),
    ],
)
def test_is_meta(sentence: str, meta: bool) -> None:
    assert is_meta(sentence) is meta


@pytest.mark.parametrize("name", ["cheese_affordability", "cheese_america", "philosophy"])
def test_library_values_decompose(name: str) -> None:
    spec = load_spec(SPECS / f"{name}.md")
    subs = decompose(spec)
    ids = [s.id for s in subs]
    assert ids[0] == "overview"
    section_ids = [s.id for s in spec.sections]
    assert ids[1:] == [i for i in section_ids if i in ids[1:]]  # spec order, no extras
    assert all(1 <= len(s.assertions) <= 8 for s in subs)
    if name.startswith("cheese"):
        leaves = [i for i in section_ids if "/" in i]
        assert set(leaves) <= set(ids)


def test_single_paragraph_spec_has_one_section() -> None:
    subs = decompose(load_spec(SPECS / "general.md"))
    assert [s.id for s in subs] == ["overview"]
    assert len(subs[0].assertions) == 6  # one per sentence of the paragraph
