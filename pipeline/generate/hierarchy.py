"""The generation hierarchy: per section, document types -> ideas -> documents [-> revision].

Levels run one after another; within a level every section's requests go out together (one
round; one batch with a batch API), then retries and top-ups go out as further rounds:
- a list level (doc types, ideas) asks for n items; a usable answer with fewer distinct items
  than asked is followed by up to `max_topups` top-up calls that list what exists and ask for
  new ones;
- an answer without a usable content section (missing, empty, truncated) or without a single
  new parsable item is retried as a new request (`attempt + 1`) up to `max_attempts` calls,
  then counted as a failure with its reason, never silently dropped;
- a failed revision keeps the draft and is counted.
Every choice is replayed from the cache on a re-run, so the plan and corpus are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llm.request import Failure, Request, Response
from llm.runner import Runner
from pipeline.config.params import GenerateParams
from pipeline.generate import parse
from pipeline.generate.prompts import PromptBook, local_ids
from pipeline.spec.decompose import PlanSection


@dataclass(frozen=True)
class Idea:
    id: str
    """`<section id>/<doc type slug>/<index>`: stable under edits to other sections."""
    section_id: str
    doc_type: str
    type_index: int
    fields: dict[str, Any]
    """author, role, perspective, ... as the model wrote them; `summary`; `assertions` (local)."""
    assertion_ids: tuple[str, ...]

    @property
    def text(self) -> str:
        return str(self.fields["summary"])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "section_id": self.section_id,
            "doc_type": self.doc_type,
            "assertion_ids": list(self.assertion_ids),
            "fields": self.fields,
        }


@dataclass
class Document:
    id: str
    idea: Idea
    k: int
    text: str
    request_hash: str
    usage: list[Response]


@dataclass
class FailureRecord:
    level: str
    id: str
    reason: str
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "id": self.id,
            "reason": self.reason,
            "attempts": self.attempts,
        }


@dataclass
class _Slot:
    """One item being asked for, across its top-ups and attempts."""

    id: str
    want: int
    make: Callable[[list[Any], int, int], Request]
    """(existing items, top-up index, attempt) -> request"""
    parse: Callable[[str], list[Any]]
    ident: Callable[[Any], str]
    meta: tuple[Any, ...] = ()
    have: list[Any] = field(default_factory=list)
    topup: int = 0
    attempt: int = 0
    calls: int = 0
    done: bool = False
    reason: str = ""


class Engine:
    def __init__(
        self,
        sections: list[PlanSection],
        gp: GenerateParams,
        book: PromptBook,
        runner: Runner,
    ):
        self.subs = {s.id: s for s in sections}
        self.gp = gp
        self.book = book
        self.runner = runner
        self.failures: list[FailureRecord] = []

    # ------------------------------------------------------------------ plan levels

    def doc_types(self) -> dict[str, list[str]]:
        slots = [
            _Slot(
                id=sub.id,
                want=self.gp.doc_types_per_section,
                make=lambda have, t, a, sub=sub: self.book.doc_types(
                    sub, self.gp.doc_types_per_section - len(have), have, t, a
                ),
                parse=parse.doc_types,
                ident=parse.slug,
            )
            for sub in self.subs.values()
        ]
        self._fill("doc_types", slots)
        return {s.id: s.have[: s.want] for s in slots}

    def ideas(self, types: dict[str, list[str]]) -> list[Idea]:
        slots = []
        for sub_id, doc_types in types.items():
            sub = self.subs[sub_id]
            ids = list(local_ids(sub))
            for t, doc_type in enumerate(doc_types):
                slots.append(
                    _Slot(
                        id=f"{sub_id}/{parse.slug(doc_type)}",
                        want=self.gp.ideas_per_doc_type,
                        make=lambda have, k, a, sub=sub, d=doc_type, t=t: self.book.ideas(
                            sub,
                            d,
                            t,
                            self.gp.ideas_per_doc_type - len(have),
                            [str(h["summary"]) for h in have],
                            k,
                            a,
                        ),
                        parse=lambda c, ids=ids: parse.ideas(c, ids),
                        ident=lambda i: str(i["summary"]),
                        meta=(sub, doc_type, t),
                    )
                )
        self._fill("ideas", slots)
        ideas = []
        for slot in slots:
            sub, doc_type, t = slot.meta
            to_global = local_ids(sub)
            for k, fields in enumerate(slot.have[: slot.want]):
                ideas.append(
                    Idea(
                        id=f"{slot.id}/{k}",
                        section_id=sub.id,
                        doc_type=doc_type,
                        type_index=t,
                        fields=fields,
                        assertion_ids=tuple(to_global[a] for a in fields["assertions"]),
                    )
                )
        return ideas

    def _fill(self, level: str, slots: list[_Slot]) -> None:
        while True:
            active = [s for s in slots if not s.done]
            if not active:
                return
            requests = [s.make(s.have, s.topup, s.attempt) for s in active]
            answers = self.runner.answer(requests)
            for slot, request in zip(active, requests, strict=True):
                result = answers[request.key]
                slot.calls += 1
                if isinstance(result, Failure):
                    self._fail(level, slot, result.reason)
                    continue
                content = parse.content_of(result.text, result.stop_reason)
                items = slot.parse(str(content.value)) if content.ok else []
                known = {slot.ident(h) for h in slot.have}
                new = []
                for item in items:
                    if slot.ident(item) not in known:
                        known.add(slot.ident(item))
                        new.append(item)
                if not new:
                    reason = content.failure or ("no_items" if not items else "no_new_items")
                    slot.attempt += 1
                    if slot.attempt >= self.gp.max_attempts:
                        if slot.have:
                            slot.done = True  # short of `want`: reported in the coverage
                        else:
                            self._fail(level, slot, reason)
                    continue
                slot.have.extend(new)
                slot.topup += 1
                slot.attempt = 0
                if len(slot.have) >= slot.want or slot.topup > self.gp.max_topups:
                    slot.done = True

    def _fail(self, level: str, slot: _Slot, reason: str) -> None:
        slot.done = True
        slot.reason = reason
        self.failures.append(FailureRecord(level, slot.id, reason, slot.calls))

    # ------------------------------------------------------------------ documents

    def documents(self, ideas: list[Idea], spec_name: str) -> list[Document]:
        jobs = [(idea, k) for idea in ideas for k in range(self.gp.docs_per_idea)]
        drafts = self._texts(
            "document",
            [
                (
                    f"{spec_name}/{idea.id}/{k}",
                    lambda a, idea=idea, k=k: self.book.document(
                        self.subs[idea.section_id], idea.doc_type, idea.fields, k, a
                    ),
                )
                for idea, k in jobs
            ],
            keep_on_failure=None,
        )
        docs = [
            Document(doc_id, idea, k, *drafts[doc_id])
            for idea, k in jobs
            if (doc_id := f"{spec_name}/{idea.id}/{k}") in drafts
        ]
        if not self.gp.revise:
            return docs
        revised = self._texts(
            "revise",
            [
                (
                    d.id,
                    lambda a, d=d: self.book.revise(
                        self.subs[d.idea.section_id],
                        d.idea.doc_type,
                        d.idea.fields,
                        d.k,
                        d.text,
                        a,
                    ),
                )
                for d in docs
            ],
            keep_on_failure={d.id: d for d in docs},
        )
        out = []
        for d in docs:
            text, key, usage = revised[d.id]
            out.append(Document(d.id, d.idea, d.k, text, key, d.usage + usage))
        return out

    def _texts(
        self,
        level: str,
        items: list[tuple[str, Callable[[int], Request]]],
        keep_on_failure: dict[str, Document] | None,
    ) -> dict[str, tuple[str, str, list[Response]]]:
        """id -> (text, request hash, answers paid for), retrying unusable answers."""
        results: dict[str, tuple[str, str, list[Response]]] = {}
        usage: dict[str, list[Response]] = {doc_id: [] for doc_id, _ in items}
        attempt = {doc_id: 0 for doc_id, _ in items}
        active = list(items)
        while active:
            requests = [make(attempt[doc_id]) for doc_id, make in active]
            answers = self.runner.answer(requests)
            retry = []
            for (doc_id, make), request in zip(active, requests, strict=True):
                result = answers[request.key]
                attempt[doc_id] += 1
                reason = result.reason if isinstance(result, Failure) else ""
                if isinstance(result, Response):
                    usage[doc_id].append(result)
                    content = parse.content_of(result.text, result.stop_reason)
                    if content.ok:
                        results[doc_id] = (str(content.value), request.key, usage[doc_id])
                        continue
                    reason = content.failure
                    if attempt[doc_id] < self.gp.max_attempts:
                        retry.append((doc_id, make))
                        continue
                self.failures.append(FailureRecord(level, doc_id, reason, attempt[doc_id]))
                if keep_on_failure is not None:
                    d = keep_on_failure[doc_id]
                    results[doc_id] = (d.text, d.request_hash, usage[doc_id])
            active = retry
        return results
