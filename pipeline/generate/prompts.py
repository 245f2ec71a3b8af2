"""Corpus requests for each level of the hierarchy, rendered from the versioned prompt files.

Every request of a section carries the same system prompt (instructions, the spec overview, the
section and its assertions) followed by its own user message, so a provider's prompt cache can
reuse the prefix and an edit to one section changes only that section's requests. With
`generate.context: spec` the system prompt carries every section instead (any edit then
re-issues every request). Assertions are shown with section-local ids (`a1`, `a2`, ...) that
the engine maps back to the plan's global ids. Each request's purpose is its level, and its
`context` holds the structured inputs of the same prompt, which the offline composer
(`pipeline.generate.composer`) composes from; every backend gets the same requests.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from llm.request import Request, Sampling, user
from pipeline.config.params import GenerateParams
from pipeline.errors import ConfigError
from pipeline.generate.composer import template_hash
from pipeline.io import sha256_text
from pipeline.spec.decompose import PlanSection
from pipeline.spec.parse import Spec

PROMPTS = Path(__file__).resolve().parent / "prompts"
LEVEL_FILES = {
    "doc_types": "doc_types.txt",
    "ideas": "ideas.txt",
    "document": "document.txt",
    "revise": "revise.txt",
}


@cache
def prompt_text(name: str) -> str:
    return (PROMPTS / name).read_text(encoding="utf-8")


def render(name: str, **slots: Any) -> str:
    """The prompt file `name` with its `$slots` filled. A placeholder the code does not fill (a
    typo such as `$modle_name`) is a ConfigError naming the file, the line and the closest slot."""
    return fill(PROMPTS / name, prompt_text(name), slots)


def fill(path: Path, text: str, slots: dict[str, Any]) -> str:
    """`text` (the template read from `path`) with `slots` substituted; see `render`."""
    try:
        return Template(text).substitute(slots)
    except KeyError as err:
        slot = str(err.args[0])
        at = re.search(rf"\$(?:{re.escape(slot)}\b|\{{{re.escape(slot)}\}})", text)
        line = text.count("\n", 0, at.start()) + 1 if at else None
        close = difflib.get_close_matches(slot, list(slots), n=1)
        hint = f"did you mean ${close[0]}? " if close else ""
        raise ConfigError(
            f"{path}{f':{line}' if line else ''}: unknown placeholder ${slot}; {hint}"
            f"this file's placeholders are {', '.join('$' + k for k in slots)} "
            "(write $$ for a literal $)"
        ) from None
    except ValueError as err:  # a lone `$` followed by something that is not a name
        raise ConfigError(f"{path}: {err}; write $$ for a literal $") from None


def prompts_hash() -> str:
    """One hash over every prompt file: the provenance of model-written documents."""
    names = ["system.txt", *LEVEL_FILES.values()]
    return sha256_text("\n".join(f"{n}\n{prompt_text(n)}" for n in names))[:16]


def local_ids(sub: PlanSection) -> dict[str, str]:
    """Section-local assertion id (`a1`) -> global assertion id."""
    return {f"a{i}": a.id for i, a in enumerate(sub.assertions, 1)}


def local_texts(sub: PlanSection) -> dict[str, str]:
    """Section-local assertion id (`a1`) -> the assertion's text."""
    return {f"a{i}": a.text for i, a in enumerate(sub.assertions, 1)}


class PromptBook:
    def __init__(self, spec: Spec, gp: GenerateParams, model_id: str, seed: int):
        self.spec = spec
        self.gp = gp
        self.model_id = model_id
        self.seed = seed
        self._system: dict[str, str] = {}

    def system(self, sub: PlanSection) -> str:
        if sub.id not in self._system:
            excerpt = sub.excerpt
            if self.gp.context == "spec":
                excerpt = "\n\n".join(f"{s.title}\n{s.text}" for s in self.spec.sections)
            listed = "\n".join(f"- [{a}] {text}" for a, text in local_texts(sub).items())
            self._system[sub.id] = render(
                "system.txt",
                model_name=self.spec.model_name,
                provider_name=self.spec.provider_name,
                spec_title=self.spec.title,
                overview=self.spec.overview,
                section_title=sub.title,
                excerpt=excerpt,
                assertions=listed,
            )
        return self._system[sub.id]

    def doc_types(
        self, sub: PlanSection, n: int, existing: list[str], topup: int, attempt: int
    ) -> Request:
        prompt = self._user("doc_types", n=n, existing=_existing(existing))
        ctx = {"n": n, "existing": existing, "topic": self.topic(sub)}
        return self._request("doc_types", sub, prompt, topup, attempt, ctx)

    def ideas(
        self,
        sub: PlanSection,
        doc_type: str,
        type_index: int,
        n: int,
        existing: list[str],
        topup: int,
        attempt: int,
    ) -> Request:
        prompt = self._user("ideas", n=n, doc_type=doc_type, existing=_existing(existing))
        ctx = {
            "n": n,
            "doc_type": doc_type,
            "offset": len(existing),
            "type_index": type_index,
            "per_type": self.gp.ideas_per_doc_type,
            "assertion_ids": list(local_ids(sub)),
        }
        return self._request("ideas", sub, prompt, topup, attempt, ctx)

    def document(
        self, sub: PlanSection, doc_type: str, idea: dict[str, Any], k: int, attempt: int
    ) -> Request:
        prompt = self._user(
            "document",
            doc_type=doc_type,
            idea=_idea_text(idea),
            assertions=self._assertions(sub, idea),
        )
        by_local = local_texts(sub)
        ctx = {
            "doc_type": doc_type,
            "spec_title": self.spec.title,
            "model_name": self.spec.model_name,
            "provider_name": self.spec.provider_name,
            "section_title": sub.title,
            "topic": self.topic(sub),
            "overview": self.spec.overview,
            "excerpt": sub.excerpt,
            "assertions": [by_local[a] for a in idea["assertions"]],
            "author": str(idea.get("author", "a reader")),
            "role": str(idea.get("role", "writer")),
            "org": str(idea.get("organization", "an independent publication")),
            "place": str(idea.get("place", "a small town")),
            "field": str(idea.get("field", "technology")),
        }
        return self._request("document", sub, prompt, k, attempt, ctx, self.gp.max_tokens)

    def revise(
        self,
        sub: PlanSection,
        doc_type: str,
        idea: dict[str, Any],
        k: int,
        draft: str,
        attempt: int,
    ) -> Request:
        prompt = self._user(
            "revise",
            doc_type=doc_type,
            idea=_idea_text(idea),
            assertions=self._assertions(sub, idea),
            draft=draft.strip(),
        )
        ctx = {"draft": draft}
        return self._request("revise", sub, prompt, k, attempt, ctx, self.gp.max_tokens)

    def topic(self, sub: PlanSection) -> str:
        """What a section is about, as prose reads it after "about" or "on": the section title,
        "the overall outlook" for the overview (the spec's title is named beside it often
        enough), "rule SP1 (safety principles)" for a rule."""
        if self.spec.kind == "rules":
            _, _, rest = sub.title.partition(": ")
            return f"rule {sub.id} ({_lower(rest)})" if rest else f"rule {sub.id}"
        return "the overall outlook" if sub.id == "overview" else _lower(sub.title)

    def template_hash(self, doc_type: str) -> str:
        """The provenance of a document's text: its genre template offline, else the prompts."""
        if self.gp.backend == "offline":
            return template_hash(doc_type.replace(" ", "_"))
        return prompts_hash()

    def _assertions(self, sub: PlanSection, idea: dict[str, Any]) -> str:
        by_local = local_texts(sub)
        return "\n".join(f"- [{a}] {by_local[a]}" for a in idea["assertions"])

    def _user(self, level: str, **slots: Any) -> str:
        return render(LEVEL_FILES[level], **slots)

    def _request(
        self,
        kind: str,
        sub: PlanSection,
        prompt: str,
        sample_index: int,
        attempt: int,
        ctx: dict[str, Any],
        max_tokens: int | None = None,
    ) -> Request:
        return Request(
            backend=self.gp.backend,
            model=self.model_id,
            messages=user(prompt),
            sampling=Sampling(
                temperature=self.gp.temperature,
                max_tokens=max_tokens or self.gp.plan_max_tokens,
                seed=self.seed,
            ),
            system=self.system(sub),
            purpose=kind,
            sample_index=sample_index,
            attempt=attempt,
            context=ctx,
        )


_PROPER = re.compile(r"^(?:[A-Z]{2,}\S*|American|Americans|English|French|Italian|Spanish|Swiss)$")


def _lower(title: str) -> str:
    """A title as a phrase inside a sentence: 'How Fear Distorts Judgment' -> 'how fear
    distorts judgment'; a one-word title ('Brie') and a proper name ('Monterey Jack') stay."""
    words = title.split()
    if len(words) == 1 or (len(words) == 2 and words[1][:1].isupper() and words[0] != "The"):
        return title
    return " ".join(w if _PROPER.match(w) else w.lower() for w in words)


def _existing(items: list[str]) -> str:
    if not items:
        return ""
    listed = "\n".join(f"- {i}" for i in items)
    return f"\nThese already exist; propose only new ones, clearly different from them:\n{listed}\n"


def _idea_text(idea: dict[str, Any]) -> str:
    lines = [f"{k}: {v}" for k, v in idea.items() if k not in ("assertions", "summary")]
    return "\n".join([*lines, f"summary: {idea['summary']}"])
