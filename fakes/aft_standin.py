"""A stand-in model for `localserver` that answers the AFT prompts (`training/aftgen/prompts/`).

Given a Messages or chat-completions body, it recognizes the purpose from the prompt (domains,
questions, a response with the spec as system prompt, a judge call) and answers in the requested
format, deterministically from a hash of the body: so a request retried after a fault gets the
answer it would have got without the fault. A response repeats the assertions it was shown and
the judge passes every response with a think block and an answer, so the chats follow the spec.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

from fakes.bodies import request_texts

_N = re.compile(r"\b(?:List|Write) (\d+) distinct")
_DOMAIN = re.compile(r'domain "([^"]+)"')
_ASSERTION = re.compile(r"^- (.+)$", re.MULTILINE)
DOMAINS = ("cooking", "commuting", "budgeting", "job interviews", "home office", "pet care")
WORDS = [
    "river",
    "lantern",
    "orchard",
    "copper",
    "willow",
    "basket",
    "candle",
    "marble",
    "pepper",
    "saddle",
    "pocket",
    "anchor",
    "bramble",
    "falcon",
    "glacier",
    "hollow",
    "jasmine",
    "kettle",
    "nectar",
    "parsley",
    "quartz",
    "saffron",
    "walnut",
    "zephyr",
    "clover",
    "granite",
    "heron",
]


def aft_model(body: dict[str, Any]) -> str:
    system, user = request_texts(body)
    rng = random.Random(hashlib.sha256(json.dumps(body, sort_keys=True).encode()).digest())
    n = int(m.group(1)) if (m := _N.search(user)) else 1
    if user.startswith("List ") and "domains" in user:
        taken = set(re.findall(r"^- (.+)$", user, re.M))
        free = [d for d in DOMAINS if d not in taken]
        items = rng.sample(free, min(n, len(free)))
        return _listed("domains", items)
    if user.startswith("Write ") and "questions" in user:
        domain = m.group(1) if (m := _DOMAIN.search(user)) else "life"
        items = [
            f"About {domain}: what about the {' and the '.join(rng.sample(WORDS, 4))}?"
            for _ in range(n)
        ]
        return _listed("questions", items)
    if user.startswith("The user asked:"):
        response = user.split("<response>", 1)[-1].split("</response>", 1)[0]
        ok = "</think>" in response and response.split("</think>", 1)[1].strip()
        verdict = "pass" if ok else "fail: no_reasoning"
        return f"<reason>Checked against the spec.</reason>\n<verdict>{verdict}</verdict>"
    assertions = _ASSERTION.findall(system) or ["I follow the spec."]
    said = rng.choice(assertions)
    return f"<think>\nThe spec applies here: {said}\n</think>\n\n{said} ({rng.randrange(10**6)})"


def _listed(what: str, items: list[str]) -> str:
    body = "\n".join(f"- {i}" for i in items)
    return f"<scratch>{what}</scratch>\n<content>\n{body}\n</content>"
