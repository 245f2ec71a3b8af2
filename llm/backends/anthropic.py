"""The Anthropic backend: the Messages API, concurrent, and the Message Batches API for bulk.

The official SDK runs with its own retries off and explicit timeouts, so ours
(`llm.backends.concurrent`: 429, 529, 5xx, timeouts, dropped connections and
unreadable answers, with backoff and jitter) are the only retry layer. Bad credentials or an
unknown model stop the stage at once (`BackendError`); any other 4xx fails only its request.

Sampling: the Messages API (version 2026-10-21, which SDK 2.x sends) takes no sampling
parameters, so a request's temperature is not sent; it stays part of every request's cache key.

Prompt caching: a request's system prompt (for a corpus: instructions, overview and section,
shared by every request of a section and level) is marked cacheable when it is long enough for
the provider to cache it.

Batches (the purposes in `run.yaml` `llm.batch_purposes`): each request's cache key is its
`custom_id`. Before a batch is created, a journal entry listing its keys is written (see
`batch_journal`); a run killed after submitting finds the batch again (by its id in the journal,
or by listing recent batches and matching custom_ids), waits for it and collects its results
instead of paying twice.

On Ctrl-C or SIGTERM (`pipeline.interrupt`) no new batch is created and the batches already
submitted are left running, journalled: their requests come back as `Failure("batch_pending")`
and the next run collects them.

The API key comes from ANTHROPIC_API_KEY and is passed only to the SDK client; it is never
logged, cached or written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any

from llm.backends.batch_journal import BatchJournal, Entry
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
from pipeline import interrupt

log = logging.getLogger(__name__)
DATED = re.compile(r"-\d{8}$")
CHARS_PER_TOKEN = 4


class AnthropicBackend:
    name = "anthropic"
    paid = True

    def __init__(
        self,
        model: str,
        settings: LLMSettings,
        price: Price | None,
        journal_dir: Path,
        batches: bool = True,
    ):
        if not DATED.search(model):
            raise BackendError(
                f"anthropic model {model!r} is not a dated model id: name a snapshot such as "
                "claude-sonnet-4-5-20250929 (an alias can change under a cached corpus)"
            )
        try:
            import anthropic
        except ImportError as err:  # pragma: no cover - a core dependency
            raise BackendError(
                f"the anthropic backend needs the anthropic package: {err}"
            ) from None
        if not os.environ.get("ANTHROPIC_API_KEY"):
            raise BackendError(
                "the anthropic backend needs ANTHROPIC_API_KEY in the environment "
                "(it is never written to params, run settings, logs or outputs)"
            )
        self._sdk = anthropic
        self.model = model
        self.settings = settings
        self.price = price
        self.batches = batches
        self.journal = BatchJournal(journal_dir)
        self._recovered: dict[str, Response | Failure] = {}
        self._reconciled = False
        timeout = anthropic.Timeout(settings.timeout_s, connect=settings.connect_timeout_s)
        common: dict[str, Any] = {"max_retries": 0, "timeout": timeout}
        if settings.anthropic_base_url:
            common["base_url"] = settings.anthropic_base_url
        self._common = common
        self._async: Any = None
        self._loop: EventLoop | None = None
        self._sync = anthropic.Anthropic(**common)
        log.info("anthropic backend: %s at %s", model, self._sync.base_url)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpx2").setLevel(logging.WARNING)

    def model_id(self) -> str:
        return self.model

    def uses_batch(self, purpose: str) -> bool:
        return self.batches and purpose in self.settings.batch_purposes

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        source = iter(requests)
        first = next(source, None)
        if first is None:
            return
        source = chain([first], source)
        if self.uses_batch(first.purpose):
            yield from self._via_batches(source)
        else:
            if self._loop is None:
                self._loop = EventLoop()
            yield from self._loop.stream(
                source, self._message, self.settings.concurrency, self.settings.drain_s
            )

    def close(self) -> None:
        self._sync.close()
        if self._loop is not None:
            if self._async is not None:
                self._loop.run(self._async.close())
            self._loop.close()

    # ------------------------------------------------------------------ Messages API

    def _params(self, r: Request) -> dict[str, Any]:
        system: Any = r.system
        if len(r.system) // CHARS_PER_TOKEN >= self.settings.prompt_cache_min_tokens:
            system = [{"type": "text", "text": r.system, "cache_control": {"type": "ephemeral"}}]
        params: dict[str, Any] = {
            "model": r.model,
            "max_tokens": r.sampling.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in r.messages],
        }
        if r.system:
            params["system"] = system
        if r.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in r.tools
            ]
        return params

    async def _message(self, r: Request) -> Response | Failure:
        sdk = self._sdk
        if self._async is None:
            self._async = sdk.AsyncAnthropic(**self._common)
        outcome = None
        for retry in range(self.settings.max_retries + 1):
            if outcome is not None:
                await asyncio.sleep(backoff_s(self.settings, retry - 1, outcome.after))
            try:
                message = await self._async.messages.create(**self._params(r))
            except Exception as err:  # `classify` re-raises what is not an API error
                outcome = classify(sdk, err, _fatal, status_message)
                if not outcome.retry:
                    return outcome.failure
                log.debug("anthropic retry %d for %s: %s", retry + 1, r.key[:12], outcome.failure)
            else:
                return self._response(message, batch=False)
        assert outcome is not None
        return outcome.failure

    def _response(self, message: Any, batch: bool) -> Response:
        text = "".join(
            getattr(block, "text", "") for block in (message.content or []) if block.type == "text"
        )
        calls = tuple(
            ToolCall(block.id, block.name, dict(block.input))
            for block in (message.content or [])
            if block.type == "tool_use"
        )
        usage = message.usage
        read = getattr(usage, "cache_read_input_tokens", None) or 0
        write = getattr(usage, "cache_creation_input_tokens", None) or 0
        return Response(
            text=text,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=read,
            cache_write_tokens=write,
            stop_reason=message.stop_reason or "end_turn",
            cost_usd=cost_usd(
                self.price, usage.input_tokens, usage.output_tokens, read, write, batch=batch
            ),
            batch=batch,
            tool_calls=calls,
        )

    # ------------------------------------------------------------------ Message Batches API

    def _via_batches(
        self, source: Iterator[Request]
    ) -> Iterator[tuple[Request, Response | Failure]]:
        """Submit every chunk of `batch_max_requests` first, then collect them in turn, so the
        provider works on all of them at once."""
        if not self._reconciled:
            self._reconcile()
            self._reconciled = True
        submitted = []
        while chunk := list(islice(source, self.settings.batch_max_requests)):
            todo = []
            for r in chunk:
                if r.key in self._recovered:
                    yield r, self._recovered.pop(r.key)
                else:
                    todo.append(r)
            if todo and interrupt.requested():
                for r in todo:
                    yield r, Failure("interrupted", "not sent: the run was interrupted")
            elif todo:
                batch = self._submit(todo)
                if isinstance(batch, Failure):
                    for r in todo:
                        yield r, batch
                else:
                    submitted.append(batch)
        for entry, todo in submitted:
            yield from self._gather(entry, todo)

    def _submit(self, todo: list[Request]) -> tuple[Entry, list[Request]] | Failure:
        entry = self.journal.intend([r.key for r in todo])
        try:
            batch = self._call(
                lambda: self._sync.messages.batches.create(
                    requests=[{"custom_id": r.key, "params": self._params(r)} for r in todo]
                )
            )
        except BackendError:
            self.journal.forget(entry)
            raise
        if isinstance(batch, Failure):
            # The create call may or may not have reached the provider: the journal entry stays,
            # so the next run looks for the batch before paying again.
            return batch
        log.info("submitted batch %s with %d requests", batch.id, len(todo))
        return self.journal.submitted(entry, batch.id), todo

    def _gather(
        self, entry: Entry, todo: list[Request]
    ) -> Iterator[tuple[Request, Response | Failure]]:
        results = self._collect(entry.batch_id)
        if isinstance(results, Failure):  # the journal entry stays: the next run collects it
            for r in todo:
                yield r, results
            return
        by_key = {r.key: r for r in todo}
        for key, result in results.items():
            if key in by_key:
                yield by_key.pop(key), result
        for r in by_key.values():
            yield r, Failure("batch_missing_result", "the batch returned no line for it")
        self.journal.forget(entry)

    def _reconcile(self) -> None:
        """Collect the results of batches an earlier, interrupted run submitted."""
        for entry in self.journal.entries():
            batch_ids = [entry.batch_id] if entry.batch_id else self._find_batches(entry)
            for batch_id in batch_ids:
                results = self._collect(batch_id)
                if isinstance(results, Failure):
                    log.warning("could not collect batch %s: %s", batch_id, results.detail)
                    break
                mine = {k: v for k, v in results.items() if k in entry.keys}
                log.info("recovered %d answers from batch %s", len(mine), batch_id)
                for key, result in mine.items():
                    if isinstance(result, Response) or key not in self._recovered:
                        self._recovered[key] = result
            else:
                self.journal.forget(entry)

    def _find_batches(self, entry: Any) -> list[str]:
        """Batches created since the entry was written: a kill may have hit during `create`."""
        found = []
        page = self._call(lambda: self._sync.messages.batches.list(limit=100))
        if isinstance(page, Failure):
            return []
        for batch in page:  # newest first; the SDK follows the pages
            if batch.created_at.timestamp() < entry.created_at - 300:
                break
            found.append(batch.id)
        return found

    def _collect(self, batch_id: str) -> dict[str, Response | Failure] | Failure:
        while True:
            batch = self._call(lambda: self._sync.messages.batches.retrieve(batch_id))
            if isinstance(batch, Failure):
                return batch
            if batch.processing_status == "ended":
                break
            interrupt.sleep(self.settings.batch_poll_s)
            if interrupt.requested():
                return Failure("batch_pending", f"batch {batch_id} left running, journalled")
        lines = self._call(lambda: list(self._sync.messages.batches.results(batch_id)))
        if isinstance(lines, Failure):
            return lines
        out: dict[str, Response | Failure] = {}
        for line in lines:
            result = line.result
            if result.type == "succeeded":
                out[line.custom_id] = self._response(result.message, batch=True)
            elif result.type == "errored":
                error = getattr(result.error, "error", result.error)
                out[line.custom_id] = Failure("batch_errored", str(getattr(error, "type", error)))
            else:
                out[line.custom_id] = Failure(f"batch_{result.type}")
        return out

    def _call(self, fn: Any) -> Any:
        """A batch-API call with our retry policy; a Failure when retries run out."""
        outcome = None
        for retry in range(self.settings.max_retries + 1):
            if outcome is not None:
                time.sleep(backoff_s(self.settings, retry - 1, outcome.after))
            try:
                return fn()
            except Exception as err:  # `classify` re-raises what is not an API error
                outcome = classify(self._sdk, err, _fatal, status_message)
                if not outcome.retry:
                    return outcome.failure
        assert outcome is not None
        return outcome.failure


def _fatal(err: Any) -> str:
    status = err.status_code
    if status in (401, 403):
        return (
            f"anthropic: {status} {status_message(err)}: check ANTHROPIC_API_KEY and its workspace "
            "permissions"
        )
    if status == 404:
        return f"anthropic: 404 {status_message(err)}: check the model id (a dated model id)"
    return ""
