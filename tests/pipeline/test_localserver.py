"""The local API server against the real anthropic and openai SDKs (no mocks, no network)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Iterator

import anthropic
import httpx2
import openai
import pytest

from fakes.localserver import Fault, LocalAPIServer, request_identity

KEY = "test-key"
MODEL = "claude-test-1"


@pytest.fixture
def server() -> Iterator[LocalAPIServer]:
    with LocalAPIServer(api_key=KEY, batch_processing_s=0.3, cache_min_tokens=100) as s:
        yield s


@pytest.fixture
def client(server: LocalAPIServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=KEY, base_url=server.url, max_retries=0)


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own group, for kill hooks fired while the test itself is the client."""
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def ask(
    client: anthropic.Anthropic, prompt: str = "hello", **kw: object
) -> anthropic.types.Message:
    params: dict[str, object] = {"model": MODEL, "max_tokens": 200, **kw}
    messages = [{"role": "user", "content": prompt}]
    return client.messages.create(messages=messages, **params)  # type: ignore[call-overload,arg-type]


def batch_requests(n: int, prefix: str = "r") -> list[dict[str, object]]:
    def params(i: int) -> dict[str, object]:
        messages = [{"role": "user", "content": f"q{i}"}]
        return {"model": MODEL, "max_tokens": 100, "messages": messages}

    return [{"custom_id": f"{prefix}{i}", "params": params(i)} for i in range(n)]


def wait_ended(client: anthropic.Anthropic, batch_id: str) -> anthropic.types.messages.MessageBatch:
    deadline = time.monotonic() + 5
    while True:
        batch = client.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended" or time.monotonic() > deadline:
            return batch
        time.sleep(0.05)


# --- Messages ------------------------------------------------------------------------------


def test_messages_round_trip(client: anthropic.Anthropic) -> None:
    message = ask(client)
    assert message.id.startswith("msg_") and message.role == "assistant" and message.model == MODEL
    text = message.content[0].text  # type: ignore[union-attr]
    assert text.startswith("<scratch>plan</scratch>\n<content>\n") and text.endswith("</content>")
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 2  # ceil(len("hello") / 4)
    assert message.usage.output_tokens == -(-len(text) // 4)
    assert ask(client).content[0].text == text, "the default answer is deterministic"  # type: ignore[union-attr]


def test_messages_max_tokens_truncates(client: anthropic.Anthropic) -> None:
    message = ask(client, max_tokens=5)
    assert message.stop_reason == "max_tokens"
    assert len(message.content[0].text) == 20 and message.usage.output_tokens == 5  # type: ignore[union-attr]


def test_custom_responder_gets_the_params() -> None:
    seen = []

    def responder(body: dict) -> str:
        seen.append(body)
        return "fixed answer"

    with LocalAPIServer(api_key=KEY, responder=responder) as server:
        client = anthropic.Anthropic(api_key=KEY, base_url=server.url, max_retries=0)
        assert ask(client, system="be brief").content[0].text == "fixed answer"  # type: ignore[union-attr]
    assert seen[0]["system"] == "be brief" and seen[0]["model"] == MODEL


def test_messages_auth_failure(server: LocalAPIServer) -> None:
    bad = anthropic.Anthropic(api_key="wrong", base_url=server.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as err:
        ask(bad)
    assert err.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert server.outcome_counts()["401"] == 1


def test_messages_validation_error_format(server: LocalAPIServer) -> None:
    request = urllib.request.Request(
        server.url + "/v1/messages",
        data=json.dumps({"model": MODEL, "messages": []}).encode(),
        headers={"x-api-key": KEY, "content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=5)
    assert err.value.code == 400
    body = json.loads(err.value.read())
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("429", anthropic.RateLimitError),
        ("529", anthropic.OverloadedError),
        ("500", anthropic.InternalServerError),
        ("503", anthropic.ServiceUnavailableError),
        ("disconnect", anthropic.APIConnectionError),
        ("malformed_json", json.JSONDecodeError),  # the SDK lets the decode error through
    ],
)
def test_fault_maps_to_sdk_exception(
    server: LocalAPIServer, client: anthropic.Anthropic, kind: str, error: type[Exception]
) -> None:
    server.faults.push(kind)
    with pytest.raises(error):
        ask(client)
    assert ask(client).stop_reason == "end_turn", "a fault applies to one request only"
    assert [r.outcome for r in server.requests] == [kind, "ok"]


def test_fault_529_is_an_api_status_error(
    server: LocalAPIServer, client: anthropic.Anthropic
) -> None:
    server.faults.push("529")
    with pytest.raises(anthropic.APIStatusError) as err:
        ask(client)
    assert err.value.status_code == 529 and isinstance(err.value, anthropic.InternalServerError)


def test_fault_429_sends_retry_after(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    server.faults.push(Fault("429", retry_after_s=0.5))
    with pytest.raises(anthropic.RateLimitError) as err:
        ask(client)
    assert err.value.response.headers["retry-after"] == "0.5"


def test_fault_timeout(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    server.faults.push(Fault("timeout", hold_s=5))
    with pytest.raises(anthropic.APITimeoutError):
        ask(client, timeout=0.3)


def test_faults_missing_content_and_truncated(
    server: LocalAPIServer, client: anthropic.Anthropic
) -> None:
    server.faults.push("missing_content", "truncated")
    assert ask(client).content == []
    assert ask(client).stop_reason == "max_tokens"
    assert server.outcome_counts() == {"missing_content": 1, "truncated": 1}


def test_fault_rule_by_predicate(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    server.faults.when(lambda body: body["messages"][0]["content"] == "unlucky", "500", times=2)
    for _ in range(2):
        with pytest.raises(anthropic.InternalServerError):
            ask(client, "unlucky")
    ask(client, "lucky")
    ask(client, "unlucky")  # the rule is used up
    assert [r.outcome for r in server.requests] == ["500", "500", "ok", "ok"]


def test_sdk_retries_through_faults(server: LocalAPIServer) -> None:
    # a positive retry-after makes the SDK wait that long instead of its backoff (0.5 s and up)
    server.faults.push(Fault("429", retry_after_s=0.01), Fault("529", retry_after_s=0.01))
    retrying = anthropic.Anthropic(api_key=KEY, base_url=server.url, max_retries=2)
    assert ask(retrying).stop_reason == "end_turn"
    assert [r.outcome for r in server.requests] == ["429", "529", "ok"]


def test_prompt_caching_simulation(client: anthropic.Anthropic) -> None:
    # cache_min_tokens=100 in the fixture: 400 characters make a cacheable 100-token prefix
    system = [{"type": "text", "text": "s" * 400, "cache_control": {"type": "ephemeral"}}]
    first = ask(client, "first question", system=system).usage
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (100, 0)
    assert first.input_tokens == 4  # ceil((400 + 14) / 4) - 100
    second = ask(client, "second", system=system).usage
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, 100)
    assert second.input_tokens == 2
    short = [{"type": "text", "text": "s" * 396, "cache_control": {"type": "ephemeral"}}]
    third = ask(client, "x", system=short).usage
    assert (third.cache_creation_input_tokens, third.cache_read_input_tokens) == (0, 0)


# --- accounting ----------------------------------------------------------------------------


def test_accounting_counts_completed_answers(
    server: LocalAPIServer, client: anthropic.Anthropic
) -> None:
    body = {"max_tokens": 200, "messages": [{"role": "user", "content": "same"}], "model": MODEL}
    ask(client, "same")
    server.faults.push("500")
    with pytest.raises(anthropic.InternalServerError):
        ask(client, "same")
    ask(client, "same")
    ask(client, "other")
    counts = server.completed_counts()
    assert counts[request_identity(body)] == 2, "the identity is the sha256 of the sent body"
    assert sum(counts.values()) == 3
    records = server.requests
    assert [r.seq for r in records] == [0, 1, 2, 3]
    assert records[1].status == 500 and not records[1].completed
    assert records[0].body == body and records[0].api == "anthropic"


# --- Message Batches -----------------------------------------------------------------------


def test_batch_lifecycle(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    server.faults.error_batch_requests("r1")
    server.faults.expire_batch_requests("r2")
    batch = client.messages.batches.create(requests=batch_requests(5))  # type: ignore[arg-type]
    assert batch.id.startswith("msgbatch_") and batch.processing_status == "in_progress"
    assert batch.request_counts.processing == 5 and batch.results_url is None
    ended = wait_ended(client, batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.expired, counts.processing) == (3, 1, 1, 0)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert sorted(results) == [f"r{i}" for i in range(5)]
    assert results["r1"].type == "errored" and results["r1"].error.error.type == "api_error"  # type: ignore[union-attr]
    assert results["r2"].type == "expired"
    succeeded = results["r0"]
    assert succeeded.type == "succeeded"
    assert succeeded.message.content[0].text.startswith("<scratch>")  # type: ignore[union-attr]
    assert server.requests == [], "batch requests are not Messages requests"
    assert server.batches_created[0].custom_ids == tuple(f"r{i}" for i in range(5))


def test_batch_list_pagination(client: anthropic.Anthropic) -> None:
    ids = [client.messages.batches.create(requests=batch_requests(1)).id for _ in range(3)]  # type: ignore[arg-type]
    assert [b.id for b in client.messages.batches.list(limit=1)] == ids[::-1], "newest first"
    page = client.messages.batches.list(limit=2)
    assert page.has_more and page.first_id == ids[2] and page.last_id == ids[1]
    newer = client.messages.batches.list(limit=1, before_id=ids[0])
    assert [b.id for b in newer] == [ids[1], ids[2]]


def test_batch_validation(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    duplicate = batch_requests(2)
    duplicate[1]["custom_id"] = "r0"
    with pytest.raises(anthropic.BadRequestError, match="more than one request"):
        client.messages.batches.create(requests=duplicate)  # type: ignore[arg-type]
    bad_id = batch_requests(1)
    bad_id[0]["custom_id"] = "has space"
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=bad_id)  # type: ignore[arg-type]
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_missing")
    assert server.batches_created == []


def test_batch_cancel_and_delete(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    batch = client.messages.batches.create(requests=batch_requests(3))  # type: ignore[arg-type]
    with pytest.raises(anthropic.BadRequestError):
        client.messages.batches.delete(batch.id)
    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    ended = wait_ended(client, batch.id)
    assert ended.request_counts.canceled == 3
    assert {r.result.type for r in client.messages.batches.results(batch.id)} == {"canceled"}
    assert client.messages.batches.delete(batch.id).type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(batch.id)


def test_no_custom_id_in_two_batches(server: LocalAPIServer, client: anthropic.Anthropic) -> None:
    client.messages.batches.create(requests=batch_requests(2, "a"))  # type: ignore[arg-type]
    client.messages.batches.create(requests=batch_requests(2, "b"))  # type: ignore[arg-type]
    client.messages.batches.create(requests=batch_requests(1, "a"))  # type: ignore[arg-type]
    repeated = {c for c, n in server.batch_custom_id_counts().items() if n > 1}
    assert repeated == {"a0"}


# --- OpenAI --------------------------------------------------------------------------------


def test_openai_chat_round_trip(server: LocalAPIServer) -> None:
    client = openai.OpenAI(api_key=KEY, base_url=server.openai_url, max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hello"}], max_completion_tokens=500
    )
    assert completion.object == "chat.completion" and completion.model == "gpt-test"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.content.startswith("<scratch>")  # type: ignore[union-attr]
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens == 2
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0  # type: ignore[union-attr]
    assert [m.id for m in client.models.list()] == [server.model_id]
    assert server.requests[0].api == "openai" and server.requests[0].completed


def test_openai_errors_and_faults(server: LocalAPIServer) -> None:
    def chat(client: openai.OpenAI, **kw: object) -> object:
        messages = [{"role": "user", "content": "hi"}]
        return client.chat.completions.create(model="gpt-test", messages=messages, **kw)  # type: ignore[call-overload]

    bad = openai.OpenAI(api_key="wrong", base_url=server.openai_url, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        chat(bad)
    assert err.value.code == "invalid_api_key"
    client = openai.OpenAI(api_key=KEY, base_url=server.openai_url, max_retries=0)
    server.faults.push("429", "missing_content", "truncated")
    with pytest.raises(openai.RateLimitError):
        chat(client)
    assert chat(client).choices[0].message.content is None  # type: ignore[attr-defined]
    assert chat(client).choices[0].finish_reason == "length"  # type: ignore[attr-defined]
    with pytest.raises(openai.BadRequestError, match="non-streaming"):
        chat(client, stream=True)


# --- kill hooks ----------------------------------------------------------------------------

CHILD = """
import sys, anthropic
client = anthropic.Anthropic(api_key=sys.argv[2], base_url=sys.argv[1], max_retries=0)
sys.stdin.readline()
for i in range(10):
    m = client.messages.create(
        model="claude-test-1", max_tokens=50, messages=[{"role": "user", "content": f"q{i}"}]
    )
    print(m.id, flush=True)
"""


def test_kill_on_message_kills_the_client_group(server: LocalAPIServer) -> None:
    server.latency_s = 0.05
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, server.url, KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    server.kill_on_message(3, child.pid, grace_s=0.2)
    out, _ = child.communicate(b"go\n", timeout=30)
    assert child.returncode == -signal.SIGKILL, out
    assert len(out.splitlines()) == 2, "two answers were delivered before the third was held"
    assert [k.trigger for k in server.kills] == ["message"] and server.kills[0].error is None
    assert [r.outcome for r in server.requests] == ["ok", "ok", "killed"]
    client = anthropic.Anthropic(api_key=KEY, base_url=server.url, max_retries=0)
    assert ask(client).stop_reason == "end_turn", "the server serves again after the kill"
    assert len(server.kills) == 1, "the hook is one-shot"


def test_kill_on_message_holds_in_flight_requests(
    server: LocalAPIServer, bystander: subprocess.Popen[bytes]
) -> None:
    server.latency_s = 0.2
    server.kill_on_message(2, bystander.pid, grace_s=0.1)
    client = anthropic.AsyncAnthropic(api_key=KEY, base_url=server.url, max_retries=0)

    async def send_four() -> list[object]:
        calls = (
            client.messages.create(
                model=MODEL, max_tokens=50, messages=[{"role": "user", "content": f"q{i}"}]
            )
            for i in range(4)
        )
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(send_four())
    assert all(isinstance(r, anthropic.APIConnectionError) for r in results), results
    assert bystander.wait(timeout=5) == -signal.SIGKILL
    assert server.outcome_counts() == {"killed": 4}
    assert server.completed_counts() == {}


def test_kill_on_batch_created(
    server: LocalAPIServer, client: anthropic.Anthropic, bystander: subprocess.Popen[bytes]
) -> None:
    server.kill_on_batch_event("created", bystander.pid)
    batch = client.messages.batches.create(requests=batch_requests(2))  # type: ignore[arg-type]
    assert bystander.wait(timeout=5) == -signal.SIGKILL
    assert server.batches_created[0].batch_id == batch.id


def test_kill_on_batch_polled(
    server: LocalAPIServer, client: anthropic.Anthropic, bystander: subprocess.Popen[bytes]
) -> None:
    batch = client.messages.batches.create(requests=batch_requests(2))  # type: ignore[arg-type]
    server.kill_on_batch_event("polled", bystander.pid)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    assert bystander.wait(timeout=5) == -signal.SIGKILL


def test_kill_on_batch_results_cuts_the_stream(
    server: LocalAPIServer, client: anthropic.Anthropic, bystander: subprocess.Popen[bytes]
) -> None:
    batch = client.messages.batches.create(requests=batch_requests(6))  # type: ignore[arg-type]
    wait_ended(client, batch.id)
    server.kill_on_batch_event("results", bystander.pid, grace_s=0.05)
    received = []
    with pytest.raises(httpx2.RemoteProtocolError):
        for line in client.messages.batches.results(batch.id):
            received.append(line.custom_id)
    # the server wrote r0..r2; the SDK reads in 64-byte chunks, so it may lose the last line
    assert received in (["r0", "r1"], ["r0", "r1", "r2"])
    assert bystander.wait(timeout=5) == -signal.SIGKILL
    assert len(list(client.messages.batches.results(batch.id))) == 6, "the hook is one-shot"


# --- throughput ----------------------------------------------------------------------------


def test_concurrent_throughput() -> None:
    async def burst(url: str) -> float:
        async with anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0) as client:

            def create(prompt: str) -> Awaitable[anthropic.types.Message]:
                messages = [{"role": "user", "content": prompt}]
                return client.messages.create(model=MODEL, max_tokens=50, messages=messages)  # type: ignore[arg-type]

            await create("warm up")
            start = time.monotonic()
            await asyncio.gather(*(create(f"q{i}") for i in range(64)))
            return time.monotonic() - start

    with LocalAPIServer(api_key=KEY, latency_s=0.2) as server:
        elapsed = asyncio.run(burst(server.url))
        assert elapsed < 2.0, f"64 concurrent requests at 0.2 s latency took {elapsed:.2f} s"
        assert server.outcome_counts() == {"ok": 65}
