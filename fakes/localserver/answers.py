"""The bodies of successful answers: an Anthropic message, whose usage simulates prompt caching,
an OpenAI chat completion, and the one-model list of `GET /v1/models`.

A request that offers tools is answered as a model that calls the first one would answer: the
text, then a call of that tool whose arguments fill each required field with `<field>`."""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from fakes.localserver.formats import estimate_tokens, messages_chars, new_id, text_of


def tool_call(body: dict[str, Any]) -> tuple[str, dict[str, str]] | None:
    """(name, arguments) of the call made to the first offered tool, in either dialect."""
    tools = body.get("tools") or []
    if not tools:
        return None
    tool = tools[0].get("function", tools[0])  # OpenAI nests it under `function`
    schema = tool.get("input_schema") or tool.get("parameters") or {}
    return tool["name"], {field: f"<{field}>" for field in schema.get("required", [])}


def anthropic_usage(body: dict[str, Any], cache: set[str], cache_min_tokens: int) -> dict[str, int]:
    """Input token usage of a Messages request; adds its cacheable prefixes to `cache`."""
    system = body.get("system")
    blocks = system if isinstance(system, list) else []
    total = math.ceil((len(text_of(system)) + messages_chars(body)) / 4)
    # cache breakpoints on system blocks: (prefix key, prefix tokens) long enough to cache
    breakpoints: list[tuple[str, int]] = []
    chars = 0
    hasher = hashlib.sha256(body["model"].encode())
    for block in blocks:
        text = text_of([block])
        chars += len(text)
        hasher.update(b"\x00" + text.encode())
        if isinstance(block, dict) and block.get("cache_control"):
            tokens = math.ceil(chars / 4)
            if tokens >= cache_min_tokens:
                breakpoints.append((hasher.copy().hexdigest(), tokens))
    read = next((tok for key, tok in reversed(breakpoints) if key in cache), 0)
    creation = max(breakpoints[-1][1] - read, 0) if breakpoints else 0
    cache.update(key for key, _ in breakpoints)
    return {
        "input_tokens": total - read - creation,
        "cache_creation_input_tokens": creation,
        "cache_read_input_tokens": read,
    }


def anthropic_message(
    body: dict[str, Any], text: str, kind: str | None, usage: dict[str, int], tier: str
) -> dict[str, Any]:
    """The Messages answer `text`, shaped by fault `kind` (truncated, missing_content)."""
    max_tokens = body["max_tokens"]
    stop_reason = "end_turn"
    if kind == "truncated":
        text, stop_reason = text[: max(1, min(len(text) // 2, max_tokens * 4))], "max_tokens"
    elif estimate_tokens(text) > max_tokens:
        text, stop_reason = text[: max_tokens * 4], "max_tokens"
    content = [] if kind == "missing_content" else [{"type": "text", "text": text}]
    usage["output_tokens"] = estimate_tokens(text) if content else 0
    call = tool_call(body) if kind is None and stop_reason == "end_turn" else None
    if call is not None:
        content.append(
            {"type": "tool_use", "id": new_id("toolu_"), "name": call[0], "input": call[1]}
        )
        stop_reason = "tool_use"
    usage["service_tier"] = tier  # type: ignore[assignment]
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def chat_completion(body: dict[str, Any], text: str, kind: str | None) -> dict[str, Any]:
    """The chat-completions answer `text`, shaped by fault `kind` (truncated, missing_content)."""
    prompt_chars = messages_chars(body)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish_reason = "stop"
    if kind == "truncated":
        text, finish_reason = text[: max(1, len(text) // 2)], "length"
    elif isinstance(limit, int) and estimate_tokens(text) > limit:
        text, finish_reason = text[: limit * 4], "length"
    content = None if kind == "missing_content" else text
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    call = tool_call(body) if kind is None and finish_reason == "stop" else None
    if call is not None:
        function = {"name": call[0], "arguments": json.dumps(call[1])}
        message["tool_calls"] = [{"id": new_id("call_"), "type": "function", "function": function}]
        finish_reason = "tool_calls"
    prompt_tokens = math.ceil(prompt_chars / 4)
    completion_tokens = estimate_tokens(content or "")
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def models_page(model_id: str, anthropic: bool) -> dict[str, Any]:
    """The `GET /v1/models` answer in either dialect: one model, `model_id`."""
    if anthropic:
        model = {
            "type": "model",
            "id": model_id,
            "display_name": model_id,
            "created_at": "2025-01-01T00:00:00Z",
            "lifecycle": "active",
        }
        page = {"data": [model], "has_more": False}
        page.update(first_id=model_id, last_id=model_id)
    else:
        model = {
            "id": model_id,
            "object": "model",
            "created": 1735689600,
            "owned_by": "local",
        }
        page = {"object": "list", "data": [model]}
    return page
