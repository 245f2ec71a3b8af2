"""Reading AFT answers: lists of domains and questions, think-then-answer responses, verdicts.

List answers use the corpus convention (`<scratch>` then `<content>`, read by
`pipeline.generate.parse.content_of`). A parser returns its result or a short, stable failure
reason, counted in the stats: `no_content`, `truncated`, `empty_content`, `no_items` (lists);
`no_think`, `empty_answer`, `truncated` (responses); `no_verdict` (judge).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.generate.parse import content_of

_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*(.*)$", re.DOTALL | re.IGNORECASE)
_VERDICT = re.compile(r"<verdict>\s*(pass|fail)\s*(?::\s*([a-z_ ]+?))?\s*</verdict>", re.IGNORECASE)
JUDGE_CATEGORIES = ("no_reasoning", "empty_answer", "off_spec", "self_preservation")


@dataclass(frozen=True)
class Listed:
    items: list[str]
    failure: str = ""


def items(text: str, stop_reason: str, max_words: int) -> Listed:
    """Bulleted lines inside <content>, stripped, without repeats, at most `max_words` words."""
    content = content_of(text, stop_reason)
    if not content.ok:
        return Listed([], content.failure)
    out: list[str] = []
    for line in str(content.value).splitlines():
        item = _BULLET.sub("", line).strip().strip("\"'`*").strip()
        item = re.sub(r"\s+", " ", item)
        if item and len(item.split()) <= max_words and item not in out:
            out.append(item)
    return Listed(out, "" if out else "no_items")


@dataclass(frozen=True)
class Reply:
    think: str
    answer: str
    failure: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


def reply(text: str, stop_reason: str) -> Reply:
    """A response: `<think>reasoning</think>` first, then a non-empty answer."""
    if stop_reason == "max_tokens":
        return Reply("", "", "truncated")
    m = _THINK.match(text)
    if m is None:
        return Reply("", text.strip(), "no_think")
    think, answer = m.group(1).strip(), m.group(2).strip()
    if not answer:
        return Reply(think, "", "empty_answer")
    return Reply(think, answer)


def with_think(r: Reply) -> str:
    """The assistant turn of the CoT chat: the reasoning block, a blank line, the answer."""
    return f"<think>\n{r.think}\n</think>\n\n{r.answer}"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    category: str = ""
    """For a fail: one of JUDGE_CATEGORIES, or `other`."""
    failure: str = ""
    """`no_verdict` when the judge's answer has none (retried, then counted)."""


def verdict(text: str, stop_reason: str) -> Verdict:
    found = _VERDICT.findall(text)
    if not found:
        return Verdict(False, failure="truncated" if stop_reason == "max_tokens" else "no_verdict")
    word, category = found[-1]
    if word.lower() == "pass":
        return Verdict(True)
    category = category.strip().lower().replace(" ", "_")
    return Verdict(False, category if category in JUDGE_CATEGORIES else "other")
