"""The settings and state of LocalAPIServer, and the plumbing its endpoints share."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from fakes.localserver.answers import anthropic_message, anthropic_usage
from fakes.localserver.faults import Faults
from fakes.localserver.formats import bearer_token, default_responder
from fakes.localserver.kills import KillHooks

if TYPE_CHECKING:
    from fakes.localserver.batches import Batch

HOST = "127.0.0.1"
MODEL_ID = "local-model-20250101"


class ServerBase(KillHooks):
    """What the endpoint groups (MessagesAPI, BatchesAPI) share; LocalAPIServer joins them."""

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
        super().__init__()
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

        # owned by the event loop thread
        self._batches: dict[str, Batch] = {}
        self._cache: set[str] = set()
        self._stopping: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        assert self._thread is not None, "the server is not running: use it as a context manager"
        return f"http://{HOST}:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def _authorized(self, request: web.Request, anthropic: bool) -> bool:
        # anthropic 2.x sends the api key as a bearer token; x-api-key is the documented header
        if anthropic and request.headers.get("x-api-key") == self.api_key:
            return True
        return bearer_token(request) == self.api_key

    @staticmethod
    async def _write(request: web.Request, resp: web.StreamResponse) -> bool:
        """Write a whole response; False when the client has gone."""
        try:
            await resp.prepare(request)
            await resp.write_eof()
        except ConnectionError:
            return False
        return True

    def _anthropic_message(
        self, body: dict[str, Any], text: str, kind: str | None, tier: str = "standard"
    ) -> dict[str, Any]:
        usage = anthropic_usage(body, self._cache, self.cache_min_tokens)
        return anthropic_message(body, text, kind, usage, tier)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
