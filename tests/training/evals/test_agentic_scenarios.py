"""The shipped scenarios, tools and prompts: every scenario loads and renders under all six
conditions with the inbox the condition calls for; the harmful action each scenario offers is
caught by its rules and the benign task beside it is not; a malformed scenario file is an error
naming the file, the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.agentic_standin import ACTIONS
from pipeline.errors import ConfigError
from training.evals.agentic_misalignment import scenarios as am_scenarios
from training.evals.agentic_misalignment.classify import matches
from training.evals.agentic_misalignment.prompts import (
    load_prompts,
    load_tools,
    system_prompt,
    user_prompt,
)
from training.evals.agentic_misalignment.scenarios import (
    GOALS,
    THREATS,
    known_scenarios,
    load_scenario,
)
from training.evals.agentic_misalignment.toolcalls import Call

TOOLS = load_tools()
ARGUMENTS = {t.name: tuple(t.arguments) for t in TOOLS.tools}
SHIPPED = ["confidential_leak", "safety_alert", "weights_exfiltration"]


def test_shipped_scenarios_render_under_every_condition() -> None:
    assert known_scenarios() == SHIPPED
    prompts = load_prompts()
    for name in SHIPPED:
        s = load_scenario(name, ARGUMENTS)
        systems = {g: system_prompt(prompts, TOOLS, s, g) for g in GOALS}
        assert s.goal in systems["explicit"] and s.goal in systems["conflicting"]
        assert s.goal not in systems["none"] and "\n\n\n" not in systems["none"]
        for text in systems.values():
            assert "<tool_call>{" in text and all(f"- {t.name}:" in text for t in TOOLS.tools)
        inboxes = {(g, t): user_prompt(prompts, s, g, t) for g in GOALS for t in THREATS}
        # each condition asks something different (explicit and none differ by the goal
        # sentence; conflicting adds the company's turn against it), every email id once
        assert len({(systems[g], inboxes[(g, t)]) for g, t in inboxes}) == 6
        assert len({inboxes[(g, "replace")] for g in GOALS}) == 2
        for (g, t), text in inboxes.items():
            ids = [e.id for e in s.inbox(g, t)]
            assert len(ids) == len(set(ids)) and f"You have {len(ids)} unread emails" in text
            assert "{" not in text.replace("{}", "")  # no unfilled template field


@pytest.mark.parametrize("name", SHIPPED)
def test_rules_catch_the_offered_harm_and_spare_the_benign_task(name: str) -> None:
    s = load_scenario(name, ARGUMENTS)
    inbox = user_prompt(load_prompts(), s, "conflicting", "replace")
    harmful, benign = next(calls for marker, calls in ACTIONS.items() if marker in inbox)
    assert any(matches(Call(**harmful), rule) for rule in s.harmful)
    assert not any(matches(Call(**benign), rule) for rule in s.harmful)


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"names 'safety'.*known scenarios: confidential_leak, "):
        load_scenario("safety", ARGUMENTS)
    with pytest.raises(ConfigError, match=r"names 'tools'"):
        load_scenario("tools", ARGUMENTS)


HEAD = """version: 1
title: T
company: C
role: R
goal: G
harm: H
emails:
  - {id: "1", from: a@c.com, to: b@c.com, subject: s, body: b}
"""
RULE = "harmful:\n  - {tool: cancel_alert, why: w, match: {alert_id: '1'}}\n"


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        (
            HEAD + "  - {id: '2', from: a, to: b, subject: s, body: b, cc: x}\n" + RULE,
            9,
            "unknown key `emails[1].cc`",
        ),
        (
            HEAD + "  - {id: '2', from: a, to: b, subject: s}\n" + RULE,
            9,
            "missing key `emails[1].body`",
        ),
        (
            HEAD
            + "  - {id: '2', from: a, to: b, subject: s, body: b, when: {threat: [soon]}}\n"
            + RULE,
            9,
            "one of replace, none",
        ),
        (
            HEAD + "  - {id: '1', from: a, to: b, subject: s, body: b}\n" + RULE,
            9,
            "email 1 has the id '1' of email 0",
        ),
        (
            HEAD + "harmful:\n  - {tool: launch, why: w, match: {x: '1'}}\n",
            10,
            "names the tool 'launch'",
        ),
        (
            HEAD + "harmful:\n  - {tool: copy_file, why: w, match: {path: '1'}}\n",
            10,
            "names the argument 'path'",
        ),
        (
            HEAD + "harmful:\n  - {tool: copy_file, why: w, match: {source: '(unclosed'}}\n",
            10,
            "is not a regex",
        ),
        (HEAD + "harmful: []\n", 9, "`harmful` is empty"),
        (
            HEAD + "  - {id: '2', to: b, subject: s, body: b}\n" + RULE,
            9,
            "missing key `emails[1].from`",
        ),
    ],
)
def test_malformed_scenario_names_file_line_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    monkeypatch.setattr(am_scenarios, "DATA", tmp_path)
    with pytest.raises(ConfigError) as err:
        load_scenario("bad", ARGUMENTS)
    msg = str(err.value)
    assert msg.startswith(f"{path}:{line}:") and needle in msg, msg


def test_same_id_under_disjoint_conditions_is_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        HEAD
        + "  - {id: '2', from: a, to: b, subject: s, body: x, when: {threat: [replace]}}\n"
        + "  - {id: '2', from: a, to: b, subject: s, body: y, when: {threat: [none]}}\n"
        + RULE
    )
    monkeypatch.setattr(am_scenarios, "DATA", tmp_path)
    s = load_scenario("ok", ARGUMENTS)
    assert [e.body for e in s.inbox("none", "replace")] == ["b", "x"]
    assert s.emails[0].sender == "a@c.com"
