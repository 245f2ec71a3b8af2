"""Building AFT chats from a spec: per section, domains -> questions -> responses -> judge,
in backfill rounds until each section has its share of the target.

Levels run one after another; within a level every section's requests go out together (one
round of the runner). An unusable answer (no list, a response without a think block or an
answer, a judge without a verdict) is asked again as a new request (`attempt + 1`) up to
`max_attempts` calls, then dropped and counted with its reason. A request the backend could not
answer at all (retries exhausted, spending cap) stops the build before the next level, so no
backfill round is bought to make up for a transport fault; a re-run continues from the cache.

Round r asks each (domain, kind) of every section still short of its target for
`questions_per_kind` new questions, listing those of earlier rounds. The round's new questions
of every section are then offered to one near-duplicate index (`neardup`) that holds every
question kept so far, in any section and any round, so a question is dropped when it nearly
repeats one from another section as well as from its own. Earlier rounds are offered first, so
a question answered in an earlier round is never dropped later; within a round the order is the
chats' rank key (`record.rank_key`, the nested-subset order), so of two near duplicates the one
first by rank is kept and no section wins a tie by its place in the plan. Only new survivors
get a response and a judge call. The price of comparing across sections: an edit to one section
can free (or drop) another section's question, which then gets (or loses) its chat.

A section stops when it reaches its target, when a round gives it no new question, or after
`max_rounds` rounds, and the reason is recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from llm.request import Failure, Request, Response
from llm.runner import Runner
from pipeline.config.params import AftSpecParams
from pipeline.spec.decompose import PlanSection
from training.aftgen import neardup, parse, record
from training.aftgen.prompts import AftPromptBook

MAX_DOMAIN_WORDS = 6
MAX_QUESTION_WORDS = 80


class Stopped(Exception):
    """The runner could not answer some requests; the stage turns this into `Incomplete`."""


@dataclass(frozen=True)
class Question:
    id: str
    """`<section>/r<round>/d<domain>/<kind>/<k>`: stable under edits to other sections."""
    section_id: str
    round: int
    domain: str
    kind: str
    text: str


@dataclass(frozen=True)
class Chat:
    question: Question
    think: str
    answer: str
    request_hash: str
    """The response request's key."""
    judge_hash: str


@dataclass
class Section:
    sec: PlanSection
    target: int
    domains: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    kept: list[Chat] = field(default_factory=list)
    rounds: int = 0
    stop: str = ""
    """Why the section stopped: `reached`, `max_rounds`, `no_new_questions`, `no_domains`."""


@dataclass(frozen=True)
class Drop:
    id: str
    reason: str
    """`<level>/<reason>`: questions/near_duplicate, response/no_think, judge/off_spec, ..."""
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "reason": self.reason, "detail": self.detail}


class Engine:
    def __init__(self, book: AftPromptBook, sp: AftSpecParams, runner: Runner):
        self.book = book
        self.sp = sp
        self.runner = runner
        self.drops: list[Drop] = []
        self.funnel: Counter = Counter()
        self.index = neardup.QuestionIndex(sp.dedup_ngram, sp.dedup_threshold)
        """Every question kept by near-duplicate removal so far, across sections and rounds."""

    def build(self, sections: list[Section], pilot: int | None = None) -> None:
        self._domains(sections)
        for r in range(1 if pilot is not None else self.sp.max_rounds):
            active = [s for s in sections if not s.stop]
            if not active:
                return
            self._questions(active, r)
            fresh = self._dedup(active, r)
            if pilot is not None:
                fresh = {k: v[:pilot] for k, v in fresh.items()}
            by_section = {s.sec.id: s for s in active}
            answered = self._responses([q for qs in fresh.values() for q in qs], by_section)
            for chat in self._judge(answered, by_section):
                by_section[chat.question.section_id].kept.append(chat)
            for s in active:
                s.rounds = r + 1
                if len(s.kept) >= s.target:
                    s.stop = "reached"
                elif not fresh[s.sec.id]:
                    s.stop = "no_new_questions"
        for s in sections:
            s.stop = s.stop or ("pilot" if pilot is not None else "max_rounds")

    # ------------------------------------------------------------------ levels

    def _domains(self, sections: list[Section]) -> None:
        want = self.sp.domains_per_section

        def make(s: Section, attempt: int) -> Request:
            return self.book.domains(s.sec, s.domains, attempt)

        def take(s: Section, resp: Response) -> str:
            got = parse.items(resp.text, resp.stop_reason, MAX_DOMAIN_WORDS)
            new = [d for d in got.items if d not in s.domains]
            s.domains.extend(new[: want - len(s.domains)])
            if not new:
                return got.failure or "no_new_items"
            return "" if len(s.domains) >= want else "short"

        failed = self._retry("domains", [(s.sec.id, s) for s in sections], make, take)
        for s in sections:
            if not s.domains:
                s.stop = "no_domains"
                self._drop(s.sec.id, f"domains/{failed.get(s.sec.id, 'no_items')}")

    def _questions(self, active: list[Section], r: int) -> None:
        slots = [
            ((s.sec.id, d, kind), (s, d, kind))
            for s in active
            for d in range(len(s.domains))
            for kind in self.sp.kinds
        ]
        earlier: dict[tuple, list[str]] = {}
        for s in active:
            for q in s.questions:
                key = (s.sec.id, s.domains.index(q.domain), q.kind)
                earlier.setdefault(key, []).append(q.text)

        def make(slot: tuple, attempt: int) -> Request:
            s, d, kind = slot
            existing = earlier.get((s.sec.id, d, kind), [])
            return self.book.questions(s.sec, s.domains[d], kind, existing, r, attempt)

        def take(slot: tuple, resp: Response) -> str:
            s, d, kind = slot
            got = parse.items(resp.text, resp.stop_reason, MAX_QUESTION_WORDS)
            for k, text in enumerate(got.items[: self.sp.questions_per_kind]):
                qid = f"{s.sec.id}/r{r:02d}/d{d:02d}/{kind}/{k:02d}"
                s.questions.append(Question(qid, s.sec.id, r, s.domains[d], kind, text))
            self.funnel["questions"] += len(got.items[: self.sp.questions_per_kind])
            return got.failure

        for key, reason in self._retry("questions", slots, make, take).items():
            self._drop("/".join(map(str, key)), f"questions/{reason}")

    def _dedup(self, active: list[Section], r: int) -> dict[str, list[Question]]:
        """Round r's new questions of every active section, past the whole set's
        near-duplicate index; the survivors by section, in id order."""
        spec, seed = self.book.spec.name, self.book.seed
        new = [q for s in active for q in s.questions if q.round == r]
        new.sort(key=lambda q: (record.rank_key(seed, f"{spec}/{q.id}"), q.id))
        fresh: dict[str, list[Question]] = {s.sec.id: [] for s in active}
        for q in new:
            kept = self.index.offer(q.id, q.text)
            if kept is None:
                fresh[q.section_id].append(q)
            else:
                self._drop(q.id, "questions/near_duplicate", f"duplicates {kept}")
        for qs in fresh.values():
            qs.sort(key=lambda q: q.id)
        self.funnel["unique_questions"] += sum(len(qs) for qs in fresh.values())
        return fresh

    def _responses(
        self, questions: list[Question], by_section: dict[str, Section]
    ) -> list[tuple[Question, parse.Reply, str]]:
        out: dict[str, tuple[Question, parse.Reply, str]] = {}

        def make(q: Question, attempt: int) -> Request:
            return self.book.response(by_section[q.section_id].sec, q.text, q.kind, attempt)

        def take(q: Question, resp: Response, key: str) -> str:
            r = parse.reply(resp.text, resp.stop_reason)
            if r.ok:
                out[q.id] = (q, r, key)
            return r.failure

        failed = self._retry("response", [(q.id, q) for q in questions], make, take, keyed=True)
        for qid, reason in failed.items():
            self._drop(qid, f"response/{reason}")
        self.funnel["responses"] += len(out)
        return [out[q.id] for q in questions if q.id in out]

    def _judge(
        self, answered: list[tuple[Question, parse.Reply, str]], by_section: dict[str, Section]
    ) -> list[Chat]:
        kept: dict[str, Chat] = {}

        def make(item: tuple, attempt: int) -> Request:
            q, r, _ = item
            sec = by_section[q.section_id].sec
            return self.book.judge(sec, q.text, parse.with_think(r), attempt)

        def take(item: tuple, resp: Response, key: str) -> str:
            q, r, response_key = item
            v = parse.verdict(resp.text, resp.stop_reason)
            if v.failure:
                return v.failure
            if v.passed:
                kept[q.id] = Chat(q, r.think, r.answer, response_key, key)
            else:
                self._drop(q.id, f"judge/{v.category}")
            return ""

        items = [(q.id, (q, r, k)) for q, r, k in answered]
        for qid, reason in self._retry("judge", items, make, take, keyed=True).items():
            self._drop(qid, f"judge/{reason}")
        self.funnel["judged"] += len(answered)
        self.funnel["kept"] += len(kept)
        return [kept[q.id] for q, _, _ in answered if q.id in kept]

    # ------------------------------------------------------------------ machinery

    def _retry(
        self,
        level: str,
        items: list[tuple[object, object]],
        make: Callable[[object, int], Request],
        take: Callable[..., str],
        keyed: bool = False,
    ) -> dict[object, str]:
        """Ask for every item, again (`attempt + 1`) while `take` returns a failure reason, up
        to `max_attempts` calls; the reasons of the items still failing, by item key."""
        attempt = {key: 0 for key, _ in items}
        failed: dict[object, str] = {}
        active = list(items)
        while active:
            requests = [make(item, attempt[key]) for key, item in active]
            answers = self.runner.answer(requests)
            if self.runner.failures:
                raise Stopped(level)
            retry = []
            for (key, item), request in zip(active, requests, strict=True):
                result = answers[request.key]
                assert not isinstance(result, Failure)  # the runner counted it: stopped above
                attempt[key] += 1
                reason = take(item, result, request.key) if keyed else take(item, result)
                if not reason:
                    failed.pop(key, None)
                    continue
                failed[key] = reason
                if attempt[key] < self.sp.max_attempts:
                    retry.append((key, item))
            active = retry
        return failed

    def _drop(self, item_id: str, reason: str, detail: str = "") -> None:
        self.drops.append(Drop(item_id, reason, detail))


def split_target(target: int, n: int) -> list[int]:
    """Each section's share of the target, in plan order (the first ones take the remainder)."""
    return [target // n + (i < target % n) for i in range(n)]
