"""What a stand-in reads of a request body (Anthropic Messages or OpenAI chat completions)."""

from __future__ import annotations

from typing import Any


def request_texts(body: dict[str, Any]) -> tuple[str, str]:
    """(system prompt, last non-system message) of a request body, content blocks joined."""
    system = body.get("system", "")
    if isinstance(system, list):
        system = "".join(b.get("text", "") for b in system)
    user = ""
    for m in body.get("messages", []):
        content = m.get("content", "")
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content)
        if m.get("role") == "system":
            system += content
        else:
            user = content
    return system, user
