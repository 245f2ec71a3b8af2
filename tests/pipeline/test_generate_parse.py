"""pipeline.generate.parse: content sections, doc-type lists and idea blocks from model answers."""

from __future__ import annotations

import pytest

from pipeline.generate.parse import content_of, doc_types, ideas, slug


def test_only_the_content_section_is_kept() -> None:
    text = "<scratch>plan: open with a quote</scratch>\n<content>\nThe memo.\n</content>\ntrailing"
    parsed = content_of(text, "end_turn")
    assert parsed.ok and parsed.value == "The memo.\n"


@pytest.mark.parametrize(
    ("text", "stop", "reason"),
    [
        ("<scratch>only a plan</scratch>", "end_turn", "no_content"),
        ("<scratch>a long plan that ran out", "max_tokens", "truncated"),
        ("<content>\nhalf a docu", "max_tokens", "truncated"),
        ("<content>  \n </content>", "end_turn", "empty_content"),
        ("", "end_turn", "no_content"),
    ],
)
def test_unusable_answers_name_their_reason(text: str, stop: str, reason: str) -> None:
    parsed = content_of(text, stop)
    assert not parsed.ok and parsed.failure == reason


def test_unclosed_content_is_fine_when_the_model_stopped_by_itself() -> None:
    assert content_of("<content>\nAll of it.", "end_turn").value == "All of it.\n"


def test_doc_types_are_normalized_and_deduplicated() -> None:
    content = (
        "1. Internal memo\n- forum_thread\n* **Lecture transcript**\n- internal memo\n"
        "- a very long description that is not a format at all really\n\n- FAQ.\n- <b>\n"
    )
    assert doc_types(content) == ["internal memo", "forum thread", "lecture transcript", "faq"]


def test_ideas_need_a_summary_and_a_known_statement() -> None:
    content = """
<idea>
author: Ana Silva
role: nurse
assertions: a2, A1, a9
summary: A shift report where the model's advice on dosing comes up.
</idea>
<idea>
author: No Statements
assertions: a7
summary: Refers to statements that do not exist.
</idea>
<idea>
author: No Summary
assertions: a1
</idea>
<idea>
author: Unclosed
assertions: a3
summary: The last block lost its closing tag.
"""
    got = ideas(content, ["a1", "a2", "a3"])
    assert [i["author"] for i in got] == ["Ana Silva", "Unclosed"]
    assert got[0]["assertions"] == ["a2", "a1"] and got[0]["role"] == "nurse"
    assert got[1]["assertions"] == ["a3"]


def test_slug() -> None:
    assert slug("Letter to the Editor!") == "letter_to_the_editor"
    assert slug("???") == "untitled"
