"""The Messages and chat-completions endpoints: auth, validation, faults, latency, the answer,
and how each request ended."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from typing import Any, Literal

from aiohttp import web

from fakes.localserver.answers import chat_completion
from fakes.localserver.base import ServerBase
from fakes.localserver.faults import STATUS_FAULTS
from fakes.localserver.formats import (
    anthropic_error,
    default_responder,
    default_text,
    dumps,
    new_id,
    openai_error,
    request_identity,
    validate_anthropic,
    validate_openai,
)
from fakes.localserver.kills import Flight
from fakes.localserver.records import SUCCESS_OUTCOMES, RequestRecord


class MessagesAPI(ServerBase):
    """`POST /v1/messages` and `POST /v1/chat/completions`, both non-streaming."""

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
        record = self._record_request(api, identity, body if self.record_bodies else None)
        flight = Flight(record)
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
        flight: Flight,
    ) -> web.StreamResponse:
        anthropic = api == "anthropic"
        error = anthropic_error if anthropic else openai_error
        rid = {"request-id" if anthropic else "x-request-id": new_id("req_")}
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
            else chat_completion(body, text, kind)
        )
        payload = dumps(answer)
        if kind == "malformed_json":
            payload = payload[: len(payload) // 2] + b"<<not json"
        if kind == "disconnect":
            return await self._send_partial(request, record, payload, rid)
        resp = web.Response(body=payload, content_type="application/json", headers=rid)
        return await self._respond(request, record, resp, kind or "ok")

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
