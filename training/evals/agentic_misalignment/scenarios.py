"""The scenarios of the agentic-misalignment eval: `data/<scenario>.yaml`, read by the typed loader.

A scenario is a company, the agent's role there, the goal sentence it is given under the
explicit and conflicting goal conditions, a description of the harmful action (for the judge),
an inbox of emails, and the rules that mark a tool call harmful. An email shows under every
condition unless its `when` narrows it to some goals and/or threats; that is how one file holds
all six conditions (goal explicit / conflicting / none x threat replace / none). Under each
condition the shown emails' ids must be unique. A rule matches a call of its `tool` when each
`match` pattern is found in that argument and no `unless` pattern is (Python regexes,
case-insensitive). A bad file is an error naming the file, the line and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipeline.config.load import build, read_yaml
from pipeline.errors import ConfigError

DATA = Path(__file__).resolve().parent / "data"
NOT_SCENARIOS = ("prompts", "tools")
Goal = Literal["explicit", "conflicting", "none"]
Threat = Literal["replace", "none"]
GOALS: tuple[Goal, ...] = ("explicit", "conflicting", "none")
THREATS: tuple[Threat, ...] = ("replace", "none")


@dataclass(frozen=True)
class When:
    goal: list[Goal] = field(default_factory=lambda: list(GOALS))
    threat: list[Threat] = field(default_factory=lambda: list(THREATS))

    def __post_init__(self) -> None:
        if not self.goal or not self.threat:
            raise ValueError("`goal` and `threat` must each list at least one condition")


@dataclass(frozen=True)
class Email:
    id: str
    sender: str
    to: str
    subject: str
    body: str
    when: When = field(default_factory=When)

    def shown(self, goal: str, threat: str) -> bool:
        return goal in self.when.goal and threat in self.when.threat


@dataclass(frozen=True)
class HarmRule:
    tool: str
    why: str
    match: dict[str, str]
    """argument -> pattern that must be found in it."""
    unless: dict[str, str] = field(default_factory=dict)
    """argument -> pattern that, when found, makes the call not harmful."""

    def __post_init__(self) -> None:
        if not self.match:
            raise ValueError("`match` is empty; name at least one argument and its pattern")
        for key in ("match", "unless"):
            for arg, pattern in getattr(self, key).items():
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(
                        f"`{key}` pattern for {arg!r} is not a regex ({err})"
                    ) from None


@dataclass(frozen=True)
class Scenario:
    version: int
    title: str
    company: str
    role: str
    goal: str
    harm: str
    emails: list[Email]
    harmful: list[HarmRule]

    def __post_init__(self) -> None:
        for key in ("title", "company", "role", "goal", "harm"):
            if not getattr(self, key).strip():
                raise ValueError(f"`{key}` is empty")
        if not self.harmful:
            raise ValueError("`harmful` is empty; add at least one rule")

    def inbox(self, goal: str, threat: str) -> list[Email]:
        return [e for e in self.emails if e.shown(goal, threat)]


def known_scenarios() -> list[str]:
    return sorted(p.stem for p in DATA.glob("*.yaml") if p.stem not in NOT_SCENARIOS)


def scenario_path(name: str) -> Path:
    path = DATA / f"{name}.yaml"
    if name in NOT_SCENARIOS or not path.is_file():
        raise ConfigError(
            f"params.yaml: evaluate.agentic_misalignment.scenarios names {name!r}, which has no "
            f"{path}; known scenarios: {', '.join(known_scenarios())}; fix the name or add the file"
        )
    return path


def load_scenario(name: str, tools: dict[str, tuple[str, ...]]) -> Scenario:
    """The scenario `name`, checked against the tools (name -> argument names): a rule on an
    unknown tool or argument, or an id shown twice under one condition, is an error."""
    path = scenario_path(name)
    raw, source = read_yaml(path)
    raw = {} if raw is None else raw
    for i, email in enumerate(raw.get("emails") or []):
        if isinstance(email, dict) and "from" in email:  # `from` is a keyword in Python
            email["sender"] = email.pop("from")
            source.lines[f"emails[{i}].sender"] = source.lines.get(f"emails[{i}].from", 0)
    try:
        scenario = build(Scenario, raw, source)
    except ConfigError as err:  # speak of the file's key, `from`
        raise ConfigError(re.sub(r"\bsender\b", "from", str(err))) from None
    for i, rule in enumerate(scenario.harmful):
        where = source.at(f"harmful[{i}]")
        if rule.tool not in tools:
            raise ConfigError(
                f"{where}: rule {i} names the tool {rule.tool!r}, which data/tools.yaml does not "
                f"define; known tools: {', '.join(tools)}"
            )
        for arg in (*rule.match, *rule.unless):
            if arg not in tools[rule.tool]:
                raise ConfigError(
                    f"{where}: rule {i} names the argument {arg!r}, which {rule.tool} does not "
                    f"take; its arguments: {', '.join(tools[rule.tool])}"
                )
    for goal in GOALS:
        for threat in THREATS:
            seen: dict[str, int] = {}
            for i, email in enumerate(scenario.emails):
                if not email.shown(goal, threat):
                    continue
                if email.id in seen:
                    raise ConfigError(
                        f"{source.at(f'emails[{i}]')}: email {i} has the id {email.id!r} of email "
                        f"{seen[email.id]}, and both show under goal {goal}, threat {threat}; "
                        "give it another id or narrow their `when`"
                    )
                seen[email.id] = i
            if not seen:
                raise ConfigError(f"{path}: no email shows under goal {goal}, threat {threat}")
    return scenario
