"""A protocol-faithful local stand-in for the Anthropic and OpenAI HTTP APIs.

It serves, on 127.0.0.1 only and without ever contacting the internet, the endpoints our
backends call, in the shapes the installed `anthropic` and `openai` SDKs parse:

- Anthropic Messages (`POST /v1/messages`, non-streaming) with a prompt-caching simulation;
- Anthropic Message Batches (`/v1/messages/batches`: create, retrieve, list, cancel, delete and
  the JSONL `results`);
- OpenAI chat completions (`POST /v1/chat/completions`, non-streaming) and `GET /v1/models`.

Tests, benchmarks and dry runs point the real SDKs at `LocalAPIServer.url`. On top of the
protocol it offers latency, fault injection (`Faults`), per-request accounting (every
Messages/chat request with its identity, outcome and whether its answer was fully written) and
one-shot kill hooks that SIGKILL a client's process group at a chosen point, for crash tests.

Run it in the foreground for a manual dry run:

    python -m pipeline.generate.localserver --port 8123 --latency 0.2 --api-key test
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import secrets
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from aiohttp import web

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MODEL_ID = "local-model-20250101"
BATCH_EXPIRY_S = 24 * 3600
CANCEL_DELAY_S = 0.1
"""A canceled batch ends this long after the cancel (the real API takes a moment too)."""
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

FaultKind = Literal[
    "429",
    "529",
    "500",
    "503",
    "timeout",
    "malformed_json",
    "missing_content",
    "disconnect",
    "truncated",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
STATUS_FAULTS = frozenset({"429", "529", "500", "503"})
BatchEvent = Literal["created", "polled", "results"]
BATCH_EVENTS: tuple[str, ...] = get_args(BatchEvent)
SUCCESS_OUTCOMES = frozenset({"ok", "truncated", "missing_content"})
"""Outcomes that are a complete, well-formed 200 answer (what `completed` can be True for)."""


# --- helpers -------------------------------------------------------------------------------


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


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    return ""


def _messages_chars(body: dict[str, Any]) -> int:
    return sum(len(_text_of(m.get("content"))) for m in body["messages"] if isinstance(m, dict))


def _rfc3339(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


# --- fault injection -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    retry_after_s: float = 0.0
    """The `retry-after` header: always sent on a 429, on 529/500/503 only when > 0."""
    hold_s: float = 10.0
    """How long a `timeout` fault holds the request before closing it unanswered."""

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class FaultRule:
    predicate: Callable[[dict[str, Any]], bool]
    """Called with the parsed request body (Messages params or chat body)."""
    fault: Fault
    times: int | None = 1
    """How many matching requests get the fault; None: every matching request."""


def _as_fault(fault: Fault | str) -> Fault:
    return fault if isinstance(fault, Fault) else Fault(fault)  # type: ignore[arg-type]


@dataclass
class Faults:
    """What goes wrong, changeable from any thread while the server runs.

    A Messages/chat request that passes auth and validation first takes the head of `queue`
    (arrival order); if the queue is empty, the first rule whose predicate matches its body.
    Batch faults are read when a batch ends: those custom_ids end errored or expired.
    """

    queue: list[Fault] = field(default_factory=list)
    rules: list[FaultRule] = field(default_factory=list)
    batch_errored: dict[str, str] = field(default_factory=dict)
    """custom_id -> Anthropic error type of its `errored` result (e.g. api_error)."""
    batch_expired: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.queue = [_as_fault(f) for f in self.queue]

    def push(self, *faults: Fault | str) -> None:
        """Apply these faults, in order, to the next Messages/chat requests."""
        with self._lock:
            self.queue.extend(_as_fault(f) for f in faults)

    def when(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        fault: Fault | str,
        times: int | None = 1,
    ) -> None:
        with self._lock:
            self.rules.append(FaultRule(predicate, _as_fault(fault), times))

    def error_batch_requests(self, *custom_ids: str, error_type: str = "api_error") -> None:
        with self._lock:
            self.batch_errored.update(dict.fromkeys(custom_ids, error_type))

    def expire_batch_requests(self, *custom_ids: str) -> None:
        with self._lock:
            self.batch_expired.update(custom_ids)

    def clear(self) -> None:
        with self._lock:
            self.queue.clear()
            self.rules.clear()
            self.batch_errored.clear()
            self.batch_expired.clear()

    def take(self, body: dict[str, Any]) -> Fault | None:
        with self._lock:
            if self.queue:
                return self.queue.pop(0)
            for rule in self.rules:
                if rule.predicate(body):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rules.remove(rule)
                    return rule.fault
        return None

    def batch_snapshot(self) -> tuple[dict[str, str], set[str]]:
        with self._lock:
            return dict(self.batch_errored), set(self.batch_expired)


# --- accounting records --------------------------------------------------------------------


@dataclass(slots=True)
class RequestRecord:
    seq: int
    api: Literal["anthropic", "openai"]
    identity: str
    body: Any
    outcome: str = "pending"
    """pending | ok | truncated | missing_content | malformed_json | disconnect | timeout |
    killed | client_gone | the status code of an error answer ("400", "401", "429", ...)."""
    status: int | None = None
    """HTTP status written; None when the connection was closed without an answer."""
    completed: bool = False
    """A complete, well-formed 200 answer was handed to the socket."""


@dataclass(frozen=True)
class BatchRecord:
    batch_id: str
    custom_ids: tuple[str, ...]
    created_at: float


@dataclass(frozen=True)
class KillRecord:
    trigger: str
    """message | created | polled | results"""
    pgid: int
    at: float
    error: str | None = None
    """Why os.killpg failed (e.g. the group was already gone); None when it was sent."""


@dataclass
class _KillHook:
    trigger: str
    pgid: int
    grace_s: float
    remaining: int = 1


@dataclass(slots=True, eq=False)
class _Flight:
    record: RequestRecord
    doomed: bool = False


@dataclass(slots=True)
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: float
    end_at: float
    status: str = "in_progress"
    cancel_initiated_at: float | None = None
    ended_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[bytes] = field(default_factory=list)


# --- the two dialects ----------------------------------------------------------------------

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
    return _dumps({"type": "error", "error": {"type": etype, "message": message}})


def openai_error(status: int, message: str, param: str | None = None) -> bytes:
    etype, code = _OPENAI_ERRORS.get(status, ("server_error", None))
    return _dumps({"error": {"message": message, "type": etype, "param": param, "code": code}})


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


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:] if auth.startswith("Bearer ") else None


# --- the server ----------------------------------------------------------------------------


class LocalAPIServer:
    """The local API server, run on its own event loop in a background thread.

    Use it as a context manager (or call start()/stop()); `url` is the Anthropic base_url and
    `openai_url` (`url + "/v1"`) the OpenAI one.
    """

    def __init__(
        self,
        *,
        api_key: str,
        latency_s: float = 0.0,
        responder: Callable[[dict[str, Any]], str] = default_responder,
        faults: Faults | None = None,
        batch_processing_s: float = 1.0,
        cache_min_tokens: int = 1024,
        port: int = 0,
        model_id: str = MODEL_ID,
        record_bodies: bool = True,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must be a non-empty string (the key clients must send)")
        self.api_key = api_key
        self.latency_s = latency_s
        self.responder = responder
        self.faults = faults if faults is not None else Faults()
        self.batch_processing_s = batch_processing_s
        self.cache_min_tokens = cache_min_tokens
        self.port = port
        self.model_id = model_id
        self.record_bodies = record_bodies
        """Keep each request's parsed body in its record (a long benchmark may not want to)."""

        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._batch_records: list[BatchRecord] = []
        self._kills: list[KillRecord] = []
        self._killed = threading.Event()
        self._message_hook: _KillHook | None = None
        self._batch_hooks: dict[str, _KillHook] = {}

        # owned by the event loop thread
        self._batches: dict[str, _Batch] = {}
        self._cache: set[str] = set()
        self._in_flight: set[_Flight] = set()
        self._gate: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # --- lifecycle

    def __enter__(self) -> LocalAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._thread is not None, "the server is not running: use it as a context manager"
        return f"http://{HOST}:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def start(self) -> LocalAPIServer:
        if self._thread is not None:
            raise RuntimeError("LocalAPIServer already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="localserver", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self._startup(), loop).result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=30)
            loop.close()
            self._thread = self._loop = None

    async def _startup(self) -> None:
        self._stopping = asyncio.Event()
        # batch bodies can be large: the real API takes up to 256 MB
        app = web.Application(client_max_size=256 * 1024**2)
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/batches", self._batch_create)
        app.router.add_get("/v1/messages/batches", self._batch_list)
        app.router.add_get("/v1/messages/batches/{id}", self._batch_retrieve)
        app.router.add_delete("/v1/messages/batches/{id}", self._batch_delete)
        app.router.add_post("/v1/messages/batches/{id}/cancel", self._batch_cancel)
        app.router.add_get("/v1/messages/batches/{id}/results", self._batch_results)
        for prefix in ("/v1", ""):  # also answer an OpenAI client whose base_url lacks /v1
            app.router.add_post(prefix + "/chat/completions", self._chat)
            app.router.add_get(prefix + "/models", self._models)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._gate is not None:
            self._gate.set()
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- accounting, readable from any thread

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every Messages/chat request, in arrival order."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._records]

    def completed_counts(self) -> Counter[str]:
        """identity -> how many complete, well-formed 200 answers were written for it."""
        with self._lock:
            return Counter(r.identity for r in self._records if r.completed)

    def outcome_counts(self) -> Counter[str]:
        with self._lock:
            return Counter(r.outcome for r in self._records)

    @property
    def batches_created(self) -> list[BatchRecord]:
        with self._lock:
            return list(self._batch_records)

    def batch_custom_id_counts(self) -> Counter[str]:
        """custom_id -> in how many created batches it appears."""
        with self._lock:
            return Counter(c for b in self._batch_records for c in b.custom_ids)

    @property
    def kills(self) -> list[KillRecord]:
        with self._lock:
            return list(self._kills)

    def wait_for_kill(self, timeout: float) -> bool:
        """Block until a kill hook has fired (True) or timeout passes (False)."""
        return self._killed.wait(timeout)

    def reset_accounting(self) -> None:
        with self._lock:
            self._records.clear()
            self._batch_records.clear()
            self._kills.clear()
            self._killed.clear()

    # --- kill hooks

    def kill_on_message(self, n: int, pgid: int, grace_s: float = 0.3) -> None:
        """On the n-th Messages/chat request arriving from now on, hold every in-flight and new
        request, wait grace_s, SIGKILL process group pgid, then close the held requests
        unanswered and serve normally again. One-shot."""
        if n < 1:
            raise ValueError(f"kill_on_message: n must be >= 1, got {n}")
        with self._lock:
            self._message_hook = _KillHook("message", pgid, grace_s, remaining=n)

    def kill_on_batch_event(self, event: BatchEvent, pgid: int, grace_s: float = 0.0) -> None:
        """SIGKILL process group pgid, grace_s after the next `event`. One-shot.

        created: after a batch-create answer was written. polled: after the answer to a
        retrieve of a batch that has not ended was written. results: after half of a results
        stream's lines were written; the stream is then cut (connection closed)."""
        if event not in BATCH_EVENTS:
            raise ValueError(f"unknown batch event {event!r}; known: {', '.join(BATCH_EVENTS)}")
        with self._lock:
            self._batch_hooks[event] = _KillHook(event, pgid, grace_s)

    def _take_batch_hook(self, event: str) -> _KillHook | None:
        with self._lock:
            return self._batch_hooks.pop(event, None)

    def _kill(self, hook: _KillHook) -> None:
        # The accounting is updated under the lock that is held while the signal is sent, so a
        # test that saw the group die reads records that already show the kill.
        with self._lock:
            error = None
            try:
                os.killpg(hook.pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._kills.append(KillRecord(hook.trigger, hook.pgid, time.time(), error))
            for flight in self._in_flight:
                if flight.doomed:
                    flight.record.outcome, flight.record.status = "killed", None
            self._killed.set()
        log.info("kill hook %s: SIGKILL to process group %d (%s)", hook.trigger, hook.pgid, error)

    def _arrive(self, flight: _Flight) -> None:
        """Count a Messages/chat arrival; the one that trips the message hook closes the gate."""
        self._in_flight.add(flight)
        if self._gate is not None:
            flight.doomed = True
            return
        with self._lock:
            hook = self._message_hook
            if hook is None:
                return
            hook.remaining -= 1
            if hook.remaining > 0:
                return
            self._message_hook = None
        gate = self._gate = asyncio.Event()
        for f in self._in_flight:
            f.doomed = True
        self._spawn(self._kill_then_release(hook, gate))

    async def _kill_then_release(self, hook: _KillHook, gate: asyncio.Event) -> None:
        try:
            await asyncio.sleep(hook.grace_s)
            self._kill(hook)
        finally:
            self._gate = None
            gate.set()

    # --- responses

    @staticmethod
    async def _write(request: web.Request, resp: web.StreamResponse) -> bool:
        """Write a whole response; False when the client has gone."""
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except ConnectionError:
            return False
        return True

    async def _respond(
        self, request: web.Request, record: RequestRecord, resp: web.Response, outcome: str
    ) -> web.Response:
        # recorded before the bytes leave: a client holding its answer sees it accounted for
        self._finish(
            record, outcome, resp.status, resp.status == 200 and outcome in SUCCESS_OUTCOMES
        )
        if not await self._write(request, resp):
            self._finish(record, "client_gone", resp.status, False)
        return resp

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection without answering (the returned response is never written)."""
        request.protocol.force_close()
        return web.Response(status=499)

    def _finish(self, record: RequestRecord, outcome: str, status: int | None, ok: bool) -> None:
        with self._lock:
            record.outcome, record.status, record.completed = outcome, status, ok

    # --- Messages and chat

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, "anthropic")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, "openai")

    async def _generate(
        self, request: web.Request, api: Literal["anthropic", "openai"]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
            identity = request_identity(body)
        except ValueError:
            body, identity = None, hashlib.sha256(raw).hexdigest()
        with self._lock:
            kept = body if self.record_bodies else None
            record = RequestRecord(len(self._records), api, identity, kept)
            self._records.append(record)
        flight = _Flight(record)
        try:
            self._arrive(flight)
            return await self._answer(request, api, body, record, flight)
        finally:
            self._in_flight.discard(flight)

    async def _answer(
        self,
        request: web.Request,
        api: Literal["anthropic", "openai"],
        body: Any,
        record: RequestRecord,
        flight: _Flight,
    ) -> web.StreamResponse:
        anthropic = api == "anthropic"
        error = anthropic_error if anthropic else openai_error
        rid = {"request-id" if anthropic else "x-request-id": _new_id("req_")}
        if flight.doomed:
            return await self._drop_held(request, record)

        if not self._authorized(request, anthropic):
            return await self._send_error(request, record, 401, error(401, "invalid api key"), rid)
        problem = validate_anthropic(body) if anthropic else validate_openai(body)
        if problem is not None:
            return await self._send_error(request, record, 400, error(400, problem), rid)

        fault = self.faults.take(body)
        kind = fault.kind if fault is not None else None
        if fault is not None and kind in STATUS_FAULTS:
            status = int(fault.kind)
            headers = dict(rid)
            if status == 429 or fault.retry_after_s > 0:
                headers["retry-after"] = f"{fault.retry_after_s:g}"
            message = f"simulated {status} (local server fault injection)"
            return await self._send_error(request, record, status, error(status, message), headers)
        if fault is not None and kind == "timeout":
            self._finish(record, "timeout", None, False)
            await self._sleep_unless_stopping(fault.hold_s)
            return self._drop(request)

        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        if flight.doomed:
            return await self._drop_held(request, record)

        text = (
            default_text(record.identity)
            if self.responder is default_responder
            else self.responder(body)
        )
        answer = (
            self._anthropic_message(body, text, kind)
            if anthropic
            else _chat_completion(body, text, kind)
        )
        payload = _dumps(answer)
        if kind == "malformed_json":
            payload = payload[: len(payload) // 2] + b"<<not json"
        if kind == "disconnect":
            return await self._send_partial(request, record, payload, rid)
        resp = web.Response(body=payload, content_type="application/json", headers=rid)
        return await self._respond(request, record, resp, kind or "ok")

    def _authorized(self, request: web.Request, anthropic: bool) -> bool:
        # anthropic 2.x sends the api key as a bearer token; x-api-key is the documented header
        if anthropic and request.headers.get("x-api-key") == self.api_key:
            return True
        return _bearer(request) == self.api_key

    async def _send_error(
        self,
        request: web.Request,
        record: RequestRecord,
        status: int,
        payload: bytes,
        headers: dict[str, str],
    ) -> web.StreamResponse:
        resp = web.Response(
            status=status, body=payload, content_type="application/json", headers=headers
        )
        return await self._respond(request, record, resp, str(status))

    async def _send_partial(
        self, request: web.Request, record: RequestRecord, payload: bytes, headers: dict[str, str]
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers=headers)
        resp.content_type = "application/json"
        resp.content_length = len(payload)
        self._finish(record, "disconnect", 200, False)
        with contextlib.suppress(ConnectionError):
            await resp.prepare(request)
            await resp.write(payload[: len(payload) // 2])
        request.protocol.force_close()
        return resp

    async def _drop_held(self, request: web.Request, record: RequestRecord) -> web.Response:
        gate = self._gate
        if gate is not None:
            await gate.wait()
        self._finish(record, "killed", None, False)
        return self._drop(request)

    def _anthropic_usage(self, body: dict[str, Any]) -> dict[str, int]:
        system = body.get("system")
        blocks = system if isinstance(system, list) else []
        total = math.ceil((len(_text_of(system)) + _messages_chars(body)) / 4)
        # cache breakpoints on system blocks: (prefix key, prefix tokens) long enough to cache
        breakpoints: list[tuple[str, int]] = []
        chars = 0
        hasher = hashlib.sha256(body["model"].encode())
        for block in blocks:
            text = _text_of([block])
            chars += len(text)
            hasher.update(b"\x00" + text.encode())
            if isinstance(block, dict) and block.get("cache_control"):
                tokens = math.ceil(chars / 4)
                if tokens >= self.cache_min_tokens:
                    breakpoints.append((hasher.copy().hexdigest(), tokens))
        read = next((tok for key, tok in reversed(breakpoints) if key in self._cache), 0)
        creation = max(breakpoints[-1][1] - read, 0) if breakpoints else 0
        self._cache.update(key for key, _ in breakpoints)
        return {
            "input_tokens": total - read - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
        }

    def _anthropic_message(
        self, body: dict[str, Any], text: str, kind: str | None, tier: str = "standard"
    ) -> dict[str, Any]:
        max_tokens = body["max_tokens"]
        stop_reason = "end_turn"
        if kind == "truncated":
            text, stop_reason = text[: max(1, min(len(text) // 2, max_tokens * 4))], "max_tokens"
        elif estimate_tokens(text) > max_tokens:
            text, stop_reason = text[: max_tokens * 4], "max_tokens"
        content = [] if kind == "missing_content" else [{"type": "text", "text": text}]
        usage = self._anthropic_usage(body)
        usage["output_tokens"] = estimate_tokens(text) if content else 0
        usage["service_tier"] = tier  # type: ignore[assignment]
        return {
            "id": _new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }

    # --- models

    async def _models(self, request: web.Request) -> web.StreamResponse:
        anthropic = "anthropic-version" in request.headers
        if not self._authorized(request, anthropic):
            payload = (anthropic_error if anthropic else openai_error)(401, "invalid api key")
            return web.Response(status=401, body=payload, content_type="application/json")
        if anthropic:
            model = {
                "type": "model",
                "id": self.model_id,
                "display_name": self.model_id,
                "created_at": "2025-01-01T00:00:00Z",
                "lifecycle": "active",
            }
            page = {"data": [model], "has_more": False}
            page.update(first_id=self.model_id, last_id=self.model_id)
        else:
            model = {
                "id": self.model_id,
                "object": "model",
                "created": 1735689600,
                "owned_by": "local",
            }
            page = {"object": "list", "data": [model]}
        return web.json_response(page)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        message = f"{request.method} {request.path} is not served by the local API server"
        anthropic = "anthropic-version" in request.headers
        payload = anthropic_error(404, message) if anthropic else openai_error(404, message)
        return web.Response(status=404, body=payload, content_type="application/json")

    # --- Message Batches

    def _batch_error(self, status: int, message: str) -> web.Response:
        return web.Response(
            status=status, body=anthropic_error(status, message), content_type="application/json"
        )

    def _find_batch(self, request: web.Request) -> _Batch | web.Response:
        if not self._authorized(request, True):
            return self._batch_error(401, "invalid api key")
        batch = self._batches.get(request.match_info["id"])
        if batch is None:
            return self._batch_error(404, f"message batch {request.match_info['id']!r} not found")
        self._refresh(batch)
        return batch

    def _refresh(self, batch: _Batch) -> None:
        if batch.status != "ended" and time.time() >= batch.end_at:
            self._end(batch)

    def _end(self, batch: _Batch) -> None:
        errored, expired = self.faults.batch_snapshot()
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        lines = []
        for item in batch.requests:
            custom_id, params = item["custom_id"], item["params"]
            result: dict[str, Any]
            problem = validate_anthropic(params)
            if batch.cancel_initiated_at is not None:
                result = {"type": "canceled"}
            elif custom_id in expired:
                result = {"type": "expired"}
            elif custom_id in errored or problem is not None:
                etype = errored.get(custom_id, "invalid_request_error")
                message = problem or f"simulated {etype} (local server fault injection)"
                error = {"type": etype, "message": message}
                result = {"type": "errored", "error": {"type": "error", "error": error}}
            else:
                message = self._anthropic_message(params, self.responder(params), None, "batch")
                result = {"type": "succeeded", "message": message}
            counts[result["type"]] += 1
            lines.append(_dumps({"custom_id": custom_id, "result": result}) + b"\n")
        batch.status, batch.ended_at = "ended", batch.end_at
        batch.counts, batch.lines = counts, lines

    def _batch_json(self, batch: _Batch) -> dict[str, Any]:
        counts = batch.counts or {
            "processing": len(batch.requests),
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        }
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + BATCH_EXPIRY_S),
            "ended_at": _rfc3339(batch.ended_at),
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    async def _batch_create(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request, True):
            return self._batch_error(401, "invalid api key")
        try:
            body = await request.json()
        except ValueError:
            return self._batch_error(400, "request body is not valid JSON")
        problem = _validate_batch(body)
        if problem is not None:
            return self._batch_error(400, problem)
        now = time.time()
        batch = _Batch(_new_id("msgbatch_"), body["requests"], now, now + self.batch_processing_s)
        self._batches[batch.id] = batch
        custom_ids = tuple(r["custom_id"] for r in batch.requests)
        with self._lock:
            self._batch_records.append(BatchRecord(batch.id, custom_ids, now))
        resp = web.json_response(self._batch_json(batch))
        await self._after_batch_event(request, resp, "created")
        return resp

    async def _after_batch_event(
        self, request: web.Request, resp: web.StreamResponse, event: str
    ) -> None:
        hook = self._take_batch_hook(event)
        if hook is None:
            return
        await self._write(request, resp)
        await asyncio.sleep(hook.grace_s)
        self._kill(hook)

    async def _batch_retrieve(self, request: web.Request) -> web.StreamResponse:
        batch = self._find_batch(request)
        if isinstance(batch, web.Response):
            return batch
        resp = web.json_response(self._batch_json(batch))
        if batch.status != "ended":
            await self._after_batch_event(request, resp, "polled")
        return resp

    async def _batch_list(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request, True):
            return self._batch_error(401, "invalid api key")
        query = request.query
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return self._batch_error(400, "limit: must be an integer from 1 to 1000")
        ordered = list(reversed(self._batches.values()))  # newest first
        ids = [b.id for b in ordered]
        cursor = query.get("after_id") or query.get("before_id")
        if cursor is not None and cursor not in ids:
            return self._batch_error(404, f"message batch {cursor!r} not found")
        if "after_id" in query:
            start = ids.index(query["after_id"]) + 1
            page, has_more = ordered[start : start + limit], len(ordered) > start + limit
        elif "before_id" in query:
            end = ids.index(query["before_id"])
            page, has_more = ordered[max(0, end - limit) : end], end - limit > 0
        else:
            page, has_more = ordered[:limit], len(ordered) > limit
        for batch in page:
            self._refresh(batch)
        return web.json_response(
            {
                "data": [self._batch_json(b) for b in page],
                "has_more": has_more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            }
        )

    async def _batch_cancel(self, request: web.Request) -> web.StreamResponse:
        batch = self._find_batch(request)
        if isinstance(batch, web.Response):
            return batch
        if batch.status == "in_progress":
            now = time.time()
            batch.status, batch.cancel_initiated_at = "canceling", now
            batch.end_at = min(batch.end_at, now + CANCEL_DELAY_S)
        return web.json_response(self._batch_json(batch))

    async def _batch_delete(self, request: web.Request) -> web.StreamResponse:
        batch = self._find_batch(request)
        if isinstance(batch, web.Response):
            return batch
        if batch.status != "ended":
            return self._batch_error(
                400, f"message batch {batch.id} is still {batch.status}; cancel it before deleting"
            )
        del self._batches[batch.id]
        return web.json_response({"id": batch.id, "type": "message_batch_deleted"})

    async def _batch_results(self, request: web.Request) -> web.StreamResponse:
        batch = self._find_batch(request)
        if isinstance(batch, web.Response):
            return batch
        if batch.status != "ended":
            return self._batch_error(
                404, f"message batch {batch.id} has not ended yet; its results are not ready"
            )
        resp = web.StreamResponse(headers={"Content-Type": "application/x-jsonl"})
        hook = self._take_batch_hook("results")
        try:
            await resp.prepare(request)
            if hook is None:
                await resp.write(b"".join(batch.lines))
                await resp.write_eof()
                return resp
            await resp.write(b"".join(batch.lines[: len(batch.lines) // 2]))
        except ConnectionError:
            if hook is None:
                return resp
        await asyncio.sleep(hook.grace_s)
        self._kill(hook)
        request.protocol.force_close()
        return resp


def _validate_batch(body: Any) -> str | None:
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        return "requests: Field required (a non-empty list)"
    seen: set[str] = set()
    for i, item in enumerate(requests):
        if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
            return f"requests.{i}: each request needs a custom_id and a params object"
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            return f"requests.{i}.custom_id: {custom_id!r} must match ^[a-zA-Z0-9_-]{{1,64}}$"
        if custom_id in seen:
            return f"requests.{i}.custom_id: {custom_id!r} is used by more than one request"
        seen.add(custom_id)
    return None


def _chat_completion(body: dict[str, Any], text: str, kind: str | None) -> dict[str, Any]:
    prompt_chars = _messages_chars(body)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    finish_reason = "stop"
    if kind == "truncated":
        text, finish_reason = text[: max(1, len(text) // 2)], "length"
    elif isinstance(limit, int) and estimate_tokens(text) > limit:
        text, finish_reason = text[: limit * 4], "length"
    content = None if kind == "missing_content" else text
    prompt_tokens = math.ceil(prompt_chars / 4)
    completion_tokens = estimate_tokens(content or "")
    return {
        "id": _new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve local stand-ins for the Anthropic and OpenAI HTTP APIs on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8123, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per Messages/chat")
    parser.add_argument("--api-key", default="test", help="the key clients must send")
    parser.add_argument("--batch-processing", type=float, default=5.0, help="seconds per batch")
    parser.add_argument("--cache-min-tokens", type=int, default=1024)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = LocalAPIServer(
        api_key=args.api_key,
        latency_s=args.latency,
        batch_processing_s=args.batch_processing,
        cache_min_tokens=args.cache_min_tokens,
        port=args.port,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        log.info("serving the Anthropic API at %s and OpenAI at %s", server.url, server.openai_url)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    log.info("stopped")


if __name__ == "__main__":
    main()
