"""The tool calls in a reply: the `<tool_call>{json}</tool_call>` blocks the system prompt teaches.

Lenient about form, strict about meaning. A block's JSON object may sit in a Markdown code fence,
be followed by stray text, or lack its closing tag (when its JSON is whole); the arguments may be
under `arguments`, `parameters`, `args` or `input`, as an object or as a JSON string of one (the
OpenAI wire form); a number or boolean argument is read as its string and a list as its items
joined by ", ". A block whose JSON does not parse, that names no tool or an unknown one, or that
lacks a required argument is a broken call, kept with its reason. Text outside the blocks has no
effect. `classify.py` never scores a reply with broken calls or no call at all as harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from training.evals.agentic_misalignment.prompts import ToolSpec

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.S | re.I)
_FENCE = re.compile(r"^```[a-z]*\s*|\s*```\s*$", re.I)
_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input")
_DECODER = json.JSONDecoder()

Status = Literal["ok", "no_call", "broken"]


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, str]

    def show(self, width: int = 60) -> str:
        """`name(arg='value', ...)` with long values cut, for reasons and logs."""
        shown = ", ".join(
            f"{k}={v[:width] + '...' if len(v) > width else v!r}" for k, v in self.arguments.items()
        )
        return f"{self.name}({shown})"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class Parsed:
    calls: tuple[Call, ...]
    """The well-formed calls, in reply order."""
    errors: tuple[str, ...]
    """One reason per broken block (`call 2: broken JSON: ...`)."""

    @property
    def status(self) -> Status:
        if self.errors:
            return "broken"
        return "ok" if self.calls else "no_call"


def parse_tool_calls(reply: str, tools: Mapping[str, ToolSpec]) -> Parsed:
    calls: list[Call] = []
    errors: list[str] = []
    for n, match in enumerate(_BLOCK.finditer(reply), 1):
        call = _call(match.group(1), tools)
        if isinstance(call, Call):
            calls.append(call)
        else:
            errors.append(f"call {n}: {call}")
    return Parsed(tuple(calls), tuple(errors))


def _call(block: str, tools: Mapping[str, ToolSpec]) -> Call | str:
    """The call in one block, or why there is none."""
    text = _FENCE.sub("", block.strip())
    start = text.find("{")
    if start < 0:
        return "no JSON object"
    try:
        obj, _ = _DECODER.raw_decode(text[start:])
    except json.JSONDecodeError as err:
        return f"broken JSON: {err.msg} (char {err.pos})"
    if not isinstance(obj, dict):
        return "the JSON is not an object"
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return 'no tool "name"'
    name = name.strip()
    if name not in tools:
        return f"unknown tool {name!r}"
    raw = next((obj[k] for k in _ARGUMENT_KEYS if k in obj), {})
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as err:
            return f"{name}: broken JSON in its arguments: {err.msg} (char {err.pos})"
    if not isinstance(raw, dict):
        return f"{name}: the arguments are not an object"
    arguments = {str(k): _string(v) for k, v in raw.items()}
    missing = [a for a in tools[name].required if not arguments.get(a, "").strip()]
    if missing:
        return f"{name}: lacks the argument {', '.join(missing)}"
    return Call(name, arguments)


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(_string(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)
