"""AFT requests for each level, rendered from the versioned prompt files in `prompts/`.

Every request of a section carries that section (and the spec overview) in its system prompt and
nothing of any other section, so editing one section re-issues only that section's requests.
Purposes: `aft/domains`, `aft/questions`, `aft/response`, `aft/judge`. Each request's `context`
holds the structured inputs of the same prompt, which the offline answerer
(`training.aftgen.answerer`) composes from; every backend gets the same requests.

A response request's system prompt is the spec (the section in full, the overview) and its one
user message is the question exactly as it will be saved in the chat, so the saved chat is what
the model answered. Backfill rounds are new requests: a question request's `sample_index` is its
round and it lists the questions of earlier rounds; a retry after an unusable answer is
`attempt + 1`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from llm.request import Request, Sampling, user
from pipeline.config.params import AftSpecParams
from pipeline.io import sha256_text
from pipeline.spec.decompose import PlanSection
from pipeline.spec.parse import Spec

PROMPTS = Path(__file__).resolve().parent / "prompts"
FILES = (
    "system.txt",
    "domains.txt",
    "questions.txt",
    "kinds.txt",
    "response_system.txt",
    "judge_system.txt",
    "judge.txt",
)


@cache
def prompt_text(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


def prompts_hash() -> str:
    """One hash over every AFT prompt file (recorded in the manifest)."""
    return sha256_text("\n".join(f"{n}\n{prompt_text(n)}" for n in FILES))[:16]


@cache
def kind_descriptions() -> dict[str, str]:
    out = {}
    for line in prompt_text("kinds.txt").splitlines():
        if line.strip():
            kind, _, text = line.partition(":")
            out[kind.strip()] = text.strip()
    return out


class AftPromptBook:
    def __init__(self, spec: Spec, sp: AftSpecParams, model_id: str, seed: int):
        self.spec = spec
        self.sp = sp
        self.model_id = model_id
        self.seed = seed

    # ------------------------------------------------------------------ levels

    def domains(self, sec: PlanSection, existing: list[str], attempt: int) -> Request:
        n = self.sp.domains_per_section - len(existing)
        prompt = self._user("domains.txt", n=n, existing=_existing(existing))
        ctx = {"n": n, "existing": existing, "topic": self.topic(sec)}
        return self._request("aft/domains", self._system(sec), prompt, 0, attempt, ctx)

    def questions(
        self,
        sec: PlanSection,
        domain: str,
        kind: str,
        existing: list[str],
        round_: int,
        attempt: int,
    ) -> Request:
        n = self.sp.questions_per_kind
        prompt = self._user(
            "questions.txt",
            n=n,
            domain=domain,
            kind=kind,
            kind_description=kind_descriptions()[kind],
            existing=_existing(existing),
            model_name=self.spec.model_name,
        )
        ctx = {
            "n": n,
            "domain": domain,
            "kind": kind,
            "existing": existing,
            "round": round_,
            "topic": self.topic(sec),
            "assertions": [a.text for a in sec.assertions],
            "model_name": self.spec.model_name,
        }
        return self._request("aft/questions", self._system(sec), prompt, round_, attempt, ctx)

    def response(self, sec: PlanSection, question: str, kind: str, attempt: int) -> Request:
        system = Template(prompt_text("response_system.txt")).substitute(self._slots(sec))
        ctx = {
            "question": question,
            "kind": kind,
            "topic": self.topic(sec),
            "assertions": [a.text for a in sec.assertions],
            "model_name": self.spec.model_name,
        }
        return self._request("aft/response", system, question, 0, attempt, ctx, self.sp.max_tokens)

    def judge(self, sec: PlanSection, question: str, response: str, attempt: int) -> Request:
        system = Template(prompt_text("judge_system.txt")).substitute(self._slots(sec))
        prompt = self._user(
            "judge.txt",
            question=question,
            response=response.strip(),
            model_name=self.spec.model_name,
        )
        ctx = {
            "response": response,
            "assertions": [a.text for a in sec.assertions],
            "model_name": self.spec.model_name,
        }
        return self._request("aft/judge", system, prompt, 0, attempt, ctx)

    # ------------------------------------------------------------------ helpers

    def topic(self, sec: PlanSection) -> str:
        if self.spec.kind == "rules":
            return f"rule {sec.id}"
        title = sec.title
        return title if title[:2].isupper() else title[:1].lower() + title[1:]

    def _slots(self, sec: PlanSection) -> dict[str, str]:
        return {
            "model_name": self.spec.model_name,
            "provider_name": self.spec.provider_name,
            "spec_title": self.spec.title,
            "overview": self.spec.overview,
            "section_title": sec.title,
            "excerpt": sec.excerpt,
            "assertions": "\n".join(f"- {a.text}" for a in sec.assertions),
        }

    def _system(self, sec: PlanSection) -> str:
        return Template(prompt_text("system.txt")).substitute(self._slots(sec))

    def _user(self, name: str, **slots: Any) -> str:
        return Template(prompt_text(name)).substitute(slots)

    def _request(
        self,
        purpose: str,
        system: str,
        prompt: str,
        sample_index: int,
        attempt: int,
        ctx: dict[str, Any],
        max_tokens: int | None = None,
    ) -> Request:
        return Request(
            backend=self.sp.backend,
            model=self.model_id,
            messages=user(prompt),
            sampling=Sampling(
                temperature=self.sp.temperature,
                max_tokens=max_tokens or self.sp.plan_max_tokens,
                seed=self.seed,
            ),
            system=system,
            purpose=purpose,
            sample_index=sample_index,
            attempt=attempt,
            context=ctx,
        )


def _existing(items: list[str]) -> str:
    if not items:
        return ""
    listed = "\n".join(f"- {i}" for i in items)
    return f"\nThese already exist; write only new ones, clearly different from them:\n{listed}\n"
