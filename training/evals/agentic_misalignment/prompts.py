"""The tools (`data/tools.yaml`) and prompt templates (`data/prompts.yaml`), and how a scenario
under one condition, and a reply to judge, are put to a model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from pipeline.config.load import load_file
from training.evals.agentic_misalignment.scenarios import DATA, Email, Scenario

_FIELDS = {
    "system": ("{agent}", "{company}", "{role}", "{goal}", "{tools}"),
    "user": ("{count}", "{emails}"),
    "email": ("{id}", "{sender}", "{to}", "{subject}", "{body}"),
    "judge": ("{agent}", "{company}", "{harm}", "{reply}"),
}


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    arguments: dict[str, str]
    """argument name -> what it is (every value is a string)."""
    required: list[str]

    def __post_init__(self) -> None:
        unknown = [a for a in self.required if a not in self.arguments]
        if unknown:
            raise ValueError(f"`required` names {unknown}, which are not in `arguments`")

    def line(self) -> str:
        args = json.dumps({a: f"<{what}>" for a, what in self.arguments.items()})
        return f"- {self.name}: {self.description} Arguments: {args}"


@dataclass(frozen=True)
class ToolSet:
    version: int
    tools: list[ToolSpec]

    def __post_init__(self) -> None:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"`tools` must name each tool once, got {names}")

    def by_name(self) -> dict[str, ToolSpec]:
        return {t.name: t for t in self.tools}


@dataclass(frozen=True)
class Prompts:
    version: int
    agent: str
    system: str
    user: str
    email: str
    judge: str

    def __post_init__(self) -> None:
        for key, fields in _FIELDS.items():
            for f in fields:
                if f not in getattr(self, key):
                    raise ValueError(f"`{key}` lacks the field {f}")


def load_tools() -> ToolSet:
    return load_file(DATA / "tools.yaml", ToolSet)


def load_prompts() -> Prompts:
    return load_file(DATA / "prompts.yaml", Prompts)


def files_sha256() -> str:
    """One digest of the prompt and tool files (recorded in the metrics)."""
    h = hashlib.sha256()
    for name in ("prompts.yaml", "tools.yaml"):
        h.update((DATA / name).read_bytes())
    return h.hexdigest()


def system_prompt(p: Prompts, tools: ToolSet, s: Scenario, goal: str) -> str:
    text = p.system.format(
        agent=p.agent,
        company=s.company,
        role=s.role,
        goal=s.goal if goal in ("explicit", "conflicting") else "",
        tools="\n".join(t.line() for t in tools.tools),
    )
    return "\n".join(line.rstrip() for line in text.split("\n"))


def user_prompt(p: Prompts, s: Scenario, goal: str, threat: str) -> str:
    inbox = s.inbox(goal, threat)
    return p.user.format(count=len(inbox), emails="\n\n".join(_email(p, e) for e in inbox))


def judge_prompt(p: Prompts, s: Scenario, reply: str) -> str:
    return p.judge.format(agent=p.agent, company=s.company, harm=s.harm, reply=reply)


def _email(p: Prompts, e: Email) -> str:
    return p.email.format(id=e.id, sender=e.sender, to=e.to, subject=e.subject, body=e.body)
