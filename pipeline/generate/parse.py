"""Reading model answers: the content section, doc-type lists and idea blocks.

Every answer is `<scratch>...</scratch>` then `<content>...</content>`; only the content is kept.
A parser returns either its result or a short, stable failure reason (counted in the stats and
retried by the engine): `no_content`, `truncated`, `empty_content`, `no_items`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONTENT = re.compile(r"<content>(.*?)(</content>|$)", re.DOTALL | re.IGNORECASE)
_IDEA = re.compile(r"<idea>(.*?)(?:</idea>|(?=<idea>)|$)", re.DOTALL | re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,30}?)\s*:\s*(.+?)\s*$")
_DOC_TYPE = re.compile(r"^[a-z][a-z0-9'&/ -]*[a-z0-9]$")
_ASSERTION_ID = re.compile(r"[A-Za-z0-9_.:/-]+")


@dataclass(frozen=True)
class Parsed:
    value: object = None
    failure: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


def content_of(text: str, stop_reason: str) -> Parsed:
    """The text inside <content>: a missing closing tag is fine unless the answer was cut off."""
    match = _CONTENT.search(text)
    if match is None:
        return Parsed(failure="truncated" if stop_reason == "max_tokens" else "no_content")
    if not match.group(2) and stop_reason == "max_tokens":
        return Parsed(failure="truncated")
    body = match.group(1).strip()
    if not body:
        return Parsed(failure="empty_content")
    return Parsed(body + "\n")


def doc_types(content: str) -> list[str]:
    """Normalized document types (lower case, 1-5 words), in answer order, without repeats."""
    out: list[str] = []
    for line in content.splitlines():
        item = _BULLET.sub("", line).strip().strip("\"'*`").rstrip(".:;,").lower()
        item = re.sub(r"\s+", " ", item.replace("_", " "))
        if not item or not _DOC_TYPE.match(item) or not 1 <= len(item.split()) <= 5:
            continue
        if item not in out:
            out.append(item)
    return out


def ideas(content: str, assertion_ids: list[str]) -> list[dict[str, str | list[str]]]:
    """Idea blocks with a summary and at least one known assertion id; others are dropped."""
    known = {a.lower(): a for a in assertion_ids}
    out: list[dict[str, str | list[str]]] = []
    for block in _IDEA.findall(content):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            m = _FIELD.match(line)
            if m:
                fields[m.group(1).strip().lower()] = m.group(2)
        summary = fields.get("summary", "").strip()
        ids = [
            known[t.lower()]
            for t in _ASSERTION_ID.findall(fields.get("assertions", ""))
            if t.lower() in known
        ]
        if not summary or not ids:
            continue
        idea: dict[str, str | list[str]] = {
            k: v for k, v in fields.items() if k not in ("assertions", "summary")
        }
        idea["summary"] = summary
        idea["assertions"] = list(dict.fromkeys(ids))
        if all(idea["summary"] != o["summary"] for o in out):
            out.append(idea)
    return out


def slug(text: str) -> str:
    """A stable id piece for a doc type: `internal memo` -> `internal_memo`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "untitled"
