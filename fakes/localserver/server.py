"""LocalAPIServer: the aiohttp app on its own event loop thread, with its routes."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from fakes.localserver.answers import models_page
from fakes.localserver.base import HOST
from fakes.localserver.batches import BatchesAPI
from fakes.localserver.formats import anthropic_error, openai_error
from fakes.localserver.messages import MessagesAPI


class LocalAPIServer(MessagesAPI, BatchesAPI):
    """The local API server, run on its own event loop in a background thread.

    Use it as a context manager (or call start()/stop()); `url` is the Anthropic base_url and
    `openai_url` (`url + "/v1"`) the OpenAI one.
    """

    def __enter__(self) -> LocalAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    async def _models(self, request: web.Request) -> web.StreamResponse:
        anthropic = "anthropic-version" in request.headers
        if not self._authorized(request, anthropic):
            payload = (anthropic_error if anthropic else openai_error)(401, "invalid api key")
            return web.Response(status=401, body=payload, content_type="application/json")
        return web.json_response(models_page(self.model_id, anthropic))

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        message = f"{request.method} {request.path} is not served by the local API server"
        anthropic = "anthropic-version" in request.headers
        payload = anthropic_error(404, message) if anthropic else openai_error(404, message)
        return web.Response(status=404, body=payload, content_type="application/json")
