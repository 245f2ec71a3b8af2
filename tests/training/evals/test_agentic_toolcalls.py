"""The tool-call parser on fixed replies: well-formed calls, lenient forms (code fences, a
missing closing tag, argument aliases, arguments as a JSON string, numbers and lists), and every
broken form kept with its reason, never dropped."""

from __future__ import annotations

import pytest

from training.evals.agentic_misalignment.prompts import load_tools
from training.evals.agentic_misalignment.toolcalls import Call, parse_tool_calls

TOOLS = load_tools().by_name()


def parse(reply: str):
    return parse_tool_calls(reply, TOOLS)


def test_calls_in_order_and_text_outside_ignored() -> None:
    reply = (
        'I will think first. {"name": "copy_file"} is not a call outside a block.\n'
        '<tool_call>{"name": "read_email", "arguments": {"email_id": "3"}}</tool_call>\n'
        'Then: <TOOL_CALL> {"name": "done", "arguments": {}} </TOOL_CALL>'
    )
    p = parse(reply)
    assert p.status == "ok" and p.errors == ()
    assert p.calls == (Call("read_email", {"email_id": "3"}), Call("done", {}))


@pytest.mark.parametrize(
    "block",
    [
        '```json\n{"name": "cancel_alert", "arguments": {"alert_id": "A1"}}\n```',
        '{"name": "cancel_alert", "parameters": {"alert_id": "A1"}}',
        '{"name": "cancel_alert", "args": {"alert_id": "A1"}}',
        '{"name": "cancel_alert", "arguments": "{\\"alert_id\\": \\"A1\\"}"}',
        '{"name": " cancel_alert ", "arguments": {"alert_id": "A1"}} and some trailing words',
    ],
)
def test_lenient_forms(block: str) -> None:
    p = parse(f"<tool_call>{block}</tool_call>")
    assert p.status == "ok", p.errors
    assert p.calls == (Call("cancel_alert", {"alert_id": "A1"}),)


def test_missing_closing_tag_with_whole_json_is_a_call() -> None:
    p = parse('<tool_call>{"name": "done", "arguments": {}}')
    assert p.calls == (Call("done", {}),) and p.status == "ok"
    # a second opening tag closes the first
    p = parse(
        '<tool_call>{"name": "done"}<tool_call>{"name": "read_email", "arguments": {"email_id": 1}}'
    )
    assert [c.name for c in p.calls] == ["done", "read_email"]


def test_values_are_read_as_strings() -> None:
    p = parse(
        '<tool_call>{"name": "send_email", "arguments": {"to": ["a@x.com", "b@y.com"], '
        '"subject": 7, "body": true, "cc": null}}</tool_call>'
    )
    assert p.calls[0].arguments == {
        "to": "a@x.com, b@y.com",
        "subject": "7",
        "body": "true",
        "cc": "",
    }


@pytest.mark.parametrize(
    ("block", "why"),
    [
        ('{"name": "done", "arguments": {}', "broken JSON"),  # truncated
        ("{'name': 'done', 'arguments': {}}", "broken JSON"),  # Python, not JSON
        ('{"name": "done" "arguments": {}}', "broken JSON: Expecting ',' delimiter"),
        ("call done now", "no JSON object"),
        ('["done"]', "no JSON object"),
        ('{"arguments": {}}', 'no tool "name"'),
        ('{"name": "delete_everything", "arguments": {}}', "unknown tool 'delete_everything'"),
        (
            '{"name": "copy_file", "arguments": {"source": "/a"}}',
            "copy_file: lacks the argument destination",
        ),
        ('{"name": "copy_file", "arguments": {"source": "/a", "destination": " "}}', "lacks"),
        ('{"name": "done", "arguments": "{oops"}', "done: broken JSON in its arguments"),
        ('{"name": "done", "arguments": [1, 2]}', "done: the arguments are not an object"),
    ],
)
def test_broken_blocks_are_kept_with_their_reason(block: str, why: str) -> None:
    done = '<tool_call>{"name": "done", "arguments": {}}</tool_call>'
    p = parse(f"{done}<tool_call>{block}</tool_call>")
    assert p.status == "broken"
    assert p.calls == (Call("done", {}),)  # the good call is still read
    assert len(p.errors) == 1 and p.errors[0].startswith("call 2: ") and why in p.errors[0], (
        p.errors
    )


def test_no_call_at_all() -> None:
    for reply in ("", "I will do nothing.", 'tool_call: {"name": "done"}'):
        p = parse(reply)
        assert p.status == "no_call" and p.calls == () and p.errors == ()


def test_show_cuts_long_values() -> None:
    call = Call("send_email", {"to": "a@x.com", "body": "x" * 100})
    assert call.show(width=10) == "send_email(to='a@x.com', body='xxxxxxxxxx...')"
