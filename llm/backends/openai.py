"""The OpenAI-compatible backend: any server speaking chat completions, e.g. `vllm serve`.

This is how a fleet of vLLM servers is driven from the main environment (vLLM needs its own):
point `run.yaml` `llm.openai_base_url` (or OPENAI_BASE_URL) at the server and set the model id
(`generate.model` for a corpus) to the served model's name. The SDK runs with its retries off
and explicit timeouts; ours (see `concurrent`) are the only retry layer. Each request carries a
seed derived from its cache key, so servers that honour seeds (vLLM does) answer reproducibly.

The key comes from OPENAI_API_KEY (a local vLLM without `--api-key` accepts any value; `EMPTY`
is sent when none is set) and is never logged, cached or written. Without a price in
`run.yaml` the answers count as free (self-hosted); with one, the spending cap applies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from llm.backends.concurrent import (
    EventLoop,
    backoff_s,
    classify,
    status_message,
)
from llm.errors import BackendError
from llm.pricing import Price, cost_usd
from llm.request import Failure, Request, Response, ToolCall
from llm.settings import LLMSettings

log = logging.getLogger(__name__)
_STOP = {"length": "max_tokens", "tool_calls": "tool_use"}


class OpenAIBackend:
    name = "openai"
    paid = True
    """Answers are fsync'd one by one: a fleet's time is worth keeping even when self-hosted."""

    def __init__(self, model: str, settings: LLMSettings, price: Price | None):
        import openai

        base_url = settings.openai_base_url or os.environ.get("OPENAI_BASE_URL", "")
        if not base_url:
            raise BackendError(
                "the openai backend needs a server: set run.yaml `llm.openai_base_url` "
                "(e.g. http://127.0.0.1:8000/v1 for `vllm serve`) or OPENAI_BASE_URL"
            )
        self._sdk = openai
        self.model = model
        self.settings = settings
        self.price = price
        self._kwargs: dict[str, Any] = {
            "base_url": base_url,
            "api_key": os.environ.get("OPENAI_API_KEY") or "EMPTY",
            "max_retries": 0,
            "timeout": openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
        }
        self._client: Any = None
        self._loop: EventLoop | None = None
        log.info("openai backend: %s at %s", model, base_url)
        logging.getLogger("httpx").setLevel(logging.WARNING)

    def model_id(self) -> str:
        return self.model

    def uses_batch(self, kind: str) -> bool:
        return False

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        if self._loop is None:
            self._loop = EventLoop()
        yield from self._loop.stream(
            requests, self._chat, self.settings.concurrency, self.settings.drain_s
        )

    def close(self) -> None:
        if self._loop is not None:
            if self._client is not None:
                self._loop.run(self._client.close())
            self._loop.close()

    async def _chat(self, r: Request) -> Response | Failure:
        sdk = self._sdk
        if self._client is None:
            self._client = sdk.AsyncOpenAI(**self._kwargs)
        extra: dict[str, Any] = {}
        if r.tools:
            extra["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in r.tools
            ]
        outcome = None
        for retry in range(self.settings.max_retries + 1):
            if outcome is not None:
                await asyncio.sleep(backoff_s(self.settings, retry - 1, outcome.after))
            try:
                completion = await self._client.chat.completions.create(
                    model=r.model,
                    messages=r.chat(),
                    max_tokens=r.sampling.max_tokens,
                    temperature=r.sampling.temperature,
                    seed=int(r.key[:8], 16),
                    **extra,
                )
                choice = completion.choices[0]
            except Exception as err:  # `classify` re-raises what is not an API error
                outcome = classify(sdk, err, _fatal, status_message)
                if not outcome.retry:
                    return outcome.failure
            else:
                return self._response(completion, choice)
        assert outcome is not None
        return outcome.failure

    def _response(self, completion: Any, choice: Any) -> Response:
        usage = completion.usage
        prompt = getattr(usage, "prompt_tokens", 0) or 0
        out = getattr(usage, "completion_tokens", 0) or 0
        details = getattr(usage, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", 0) or 0) if details else 0
        calls = tuple(
            ToolCall(c.id, c.function.name, json.loads(c.function.arguments or "{}"))
            for c in (choice.message.tool_calls or [])
        )
        return Response(
            text=choice.message.content or "",
            input_tokens=prompt - cached,
            output_tokens=out,
            cache_read_tokens=cached,
            stop_reason=_STOP.get(choice.finish_reason, "end_turn"),
            cost_usd=cost_usd(self.price, prompt - cached, out, cached, 0),
            tool_calls=calls,
        )


def _fatal(err: Any) -> str:
    if err.status_code in (401, 403):
        return f"openai-compatible server: {err.status_code}: check OPENAI_API_KEY"
    if err.status_code == 404:
        return (
            "openai-compatible server: 404 for the model: check the model id against the "
            "server's /v1/models"
        )
    return ""
