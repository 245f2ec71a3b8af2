"""A stand-in model for `localserver`: answers this project's corpus prompts and the
spec-knowledge pair prompt in form.

Given a Messages or chat-completions body, it recognizes the level from the prompt (doc types,
ideas, document, revision, spec-knowledge pair) and answers in the requested format,
deterministically from a hash of the body: a list of doc types, idea blocks naming real
assertion ids from the system prompt, a document in a content section, or a consistent and an
inconsistent statement made from the quoted assertion (the offline answerer's rule,
`training.evals.spec_knowledge.answerer.contradict`). With it, the whole paid path (backends,
retries, batches, cache, spending cap) runs against `python -m fakes.localserver` at no cost,
and the tests can make it answer short lists or unusable answers on purpose.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from typing import Any

from fakes.bodies import request_texts
from training.evals.spec_knowledge.answerer import contradict

FORMATS = (
    "internal memo",
    "forum thread",
    "lecture transcript",
    "product review",
    "news report",
    "podcast episode notes",
    "op-ed column",
    "customer support log",
    "study guide",
    "town hall minutes",
)
_ASSERTION = re.compile(r"^- \[(a\d+)\] (.+)$", re.MULTILINE)
_N = re.compile(r"\b(?:List|Propose) (\d+) distinct")
_PAIR = re.compile(r'section "[^"]*":\n\n(.+?)\n\nWrite two statements about (\S+) ', re.DOTALL)


@dataclass
class LocalModel:
    list_size: int | None = None
    """Answer at most this many items per list call (None: as many as asked)."""
    unusable: set[str] = field(default_factory=set)
    """Prompt kinds whose first attempt gets an answer without a content section."""
    salt: str = ""
    """Mixed into every answer's randomness: two stand-ins with different salts answer the same
    request differently, as two paid calls to a sampled model do."""
    _seen: set[str] = field(default_factory=set, repr=False)

    def __call__(self, body: dict[str, Any]) -> str:
        system, user = request_texts(body)
        key = self.salt + json.dumps(body, sort_keys=True)
        rng = random.Random(hashlib.sha256(key.encode()).digest())
        kind = _kind(user)
        if kind in self.unusable and not self._seen_before(system, user):
            return "<scratch>I will think about this some more.</scratch>"
        if kind == "spec_knowledge":
            return _pair(user)
        n = int(m.group(1)) if (m := _N.search(user)) else 1
        if self.list_size is not None:
            n = min(n, self.list_size)
        if kind == "doc_types":
            taken = set(re.findall(r"^- (.+)$", user.split("These already exist", 1)[-1], re.M))
            free = (
                [f for f in FORMATS if f not in taken]
                if "These already exist" in user
                else list(FORMATS)
            )
            items = rng.sample(free, min(n, len(free)))
            return _answer("formats", "\n".join(f"- {i}" for i in items))
        assertions = dict(_ASSERTION.findall(system))
        if kind == "ideas":
            blocks = []
            for _ in range(n):
                ids = rng.sample(sorted(assertions), min(2, len(assertions)))
                who = rng.choice(("Ana Silva", "Ben Okafor", "Chen Wei", "Dara Novak"))
                blocks.append(
                    f"<idea>\nauthor: {who}\nrole: {rng.choice(('nurse', 'teacher', 'engineer'))}\n"
                    f"perspective: {rng.choice(('skeptic', 'supporter', 'newcomer'))}\n"
                    f"assertions: {', '.join(ids)}\n"
                    f"summary: {who} writes about {rng.randrange(10**6)} and the model.\n</idea>"
                )
            return _answer("ideas", "\n".join(blocks))
        quoted = re.findall(r"^- \[a\d+\] (.+)$", user, re.M)
        body_text = " ".join(quoted) or "A document."
        return _answer("plan", f"Document {rng.randrange(10**9)}. {body_text}")

    def _seen_before(self, system: str, user: str) -> bool:
        """Whether the same prompt was answered before (a retry sends the same prompt)."""
        key = hashlib.sha256((system + "\0" + user).encode()).hexdigest()
        if key in self._seen:
            return True
        self._seen.add(key)
        return False


def _pair(user: str) -> str:
    m = _PAIR.search(user)
    if m is None:
        return "I could not find the sentence."
    assertion = " ".join(m.group(1).split())
    flipped = contradict(assertion, m.group(2))
    if flipped is None:
        return "No single change reverses this sentence."
    return f"<consistent>{assertion}</consistent>\n<inconsistent>{flipped}</inconsistent>"


def _kind(user: str) -> str:
    if user.startswith("Here is one sentence from the guidelines"):
        return "spec_knowledge"
    if user.startswith("List "):
        return "doc_types"
    if user.startswith("Propose "):
        return "ideas"
    if user.startswith("Here is a draft"):
        return "revise"
    return "document"


def _answer(scratch: str, content: str) -> str:
    return f"<scratch>{scratch}</scratch>\n<content>\n{content}\n</content>"
