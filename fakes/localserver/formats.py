"""The wire formats both dialects share: request identity, token estimates, the default answer,
error bodies and request validation."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web


def canonical_json(body: Any) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_identity(body: Any) -> str:
    """The stable identity of a request: sha256 of its canonical JSON body (sorted keys)."""
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


# fmt: off
_WORDS = (
    "river", "stone", "garden", "lantern", "orchard", "meadow", "harbor", "violet", "copper",
    "willow", "thistle", "ember", "prairie", "canyon", "quartz", "cedar", "falcon", "marble",
    "juniper", "saffron", "tundra", "glacier", "beacon", "cobalt", "fern", "hollow", "summit",
    "delta", "pebble", "clover", "amber", "spruce",
)
# fmt: on


def default_responder(body: dict[str, Any]) -> str:
    """A deterministic answer derived from the sha256 of the canonical request body."""
    return default_text(request_identity(body))


def default_text(identity: str) -> str:
    """The default answer for a request identity: 3 to 8 sentences of 6 to 14 words."""
    # bytes drawn from a sha256 chain: cheaper than seeding a Random, which matters at 64-way
    # concurrency, where every request's cost delays the ones queued behind it
    digest = bytes.fromhex(identity)
    stream = bytearray(digest)
    while len(stream) < 160:
        digest = hashlib.sha256(digest).digest()
        stream += digest
    pos, sentences = 1, []
    for _ in range(3 + stream[0] % 6):
        n = 6 + stream[pos] % 9
        words = [_WORDS[b % len(_WORDS)] for b in stream[pos + 1 : pos + 1 + n]]
        sentences.append(" ".join(words).capitalize() + ".")
        pos += 1 + n
    return "<scratch>plan</scratch>\n<content>\n" + " ".join(sentences) + "\n</content>"


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    return ""


def messages_chars(body: dict[str, Any]) -> int:
    return sum(len(text_of(m.get("content"))) for m in body["messages"] if isinstance(m, dict))


def rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


# --- errors --------------------------------------------------------------------------------

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}
_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
    529: ("server_error", "overloaded"),
}


def anthropic_error(status: int, message: str) -> bytes:
    etype = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return dumps({"type": "error", "error": {"type": etype, "message": message}})


def openai_error(status: int, message: str, param: str | None = None) -> bytes:
    etype, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return dumps({"error": {"message": message, "type": etype, "param": param, "code": code}})


# --- requests ------------------------------------------------------------------------------


def validate_anthropic(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (an integer >= 1)"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: Field required (a non-empty list)"
    if body.get("stream"):
        return "stream: this local server answers non-streaming requests only; drop stream=True"
    return None


def validate_openai(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: a non-empty list is required"
    if body.get("stream"):
        return "stream: this local server answers non-streaming requests only; drop stream=True"
    return None


def bearer_token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None
