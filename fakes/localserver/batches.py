"""The Message Batches endpoints (create, retrieve, list, cancel, delete, results) and the state
of each batch, which ends `batch_processing_s` after it was created."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from fakes.localserver.base import ServerBase
from fakes.localserver.formats import (
    anthropic_error,
    dumps,
    new_id,
    rfc3339,
    validate_anthropic,
)
from fakes.localserver.records import BatchRecord

BATCH_EXPIRY_S = 24 * 3600
CANCEL_DELAY_S = 0.1
"""A canceled batch ends this long after the cancel (the real API takes a moment too)."""
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(slots=True)
class Batch:
    id: str
    requests: list[dict[str, Any]]
    created_at: float
    end_at: float
    status: str = "in_progress"
    cancel_initiated_at: float | None = None
    ended_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[bytes] = field(default_factory=list)


def validate_batch(body: Any) -> str | None:
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


class BatchesAPI(ServerBase):
    """`/v1/messages/batches` and its sub-resources, with the batch kill hooks."""

    def _batch_error(self, status: int, message: str) -> web.Response:
        return web.Response(
            status=status, body=anthropic_error(status, message), content_type="application/json"
        )

    def _find_batch(self, request: web.Request) -> Batch | web.Response:
        if not self._authorized(request, True):
            return self._batch_error(401, "invalid api key")
        batch = self._batches.get(request.match_info["id"])
        if batch is None:
            return self._batch_error(404, f"message batch {request.match_info['id']!r} not found")
        self._refresh(batch)
        return batch

    def _refresh(self, batch: Batch) -> None:
        if batch.status != "ended" and time.time() >= batch.end_at:
            self._end(batch)

    def _end(self, batch: Batch) -> None:
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
            lines.append(dumps({"custom_id": custom_id, "result": result}) + b"\n")
        batch.status, batch.ended_at = "ended", batch.end_at
        batch.counts, batch.lines = counts, lines

    def _batch_json(self, batch: Batch) -> dict[str, Any]:
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
            "created_at": rfc3339(batch.created_at),
            "expires_at": rfc3339(batch.created_at + BATCH_EXPIRY_S),
            "ended_at": rfc3339(batch.ended_at),
            "cancel_initiated_at": rfc3339(batch.cancel_initiated_at),
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
        problem = validate_batch(body)
        if problem is not None:
            return self._batch_error(400, problem)
        now = time.time()
        batch = Batch(new_id("msgbatch_"), body["requests"], now, now + self.batch_processing_s)
        self._batches[batch.id] = batch
        custom_ids = tuple(r["custom_id"] for r in batch.requests)
        self._record_batch(BatchRecord(batch.id, custom_ids, now))
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
