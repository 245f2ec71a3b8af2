"""Tools through the real SDKs: the anthropic and openai backends send a request's tools and read
the model's tool calls back, against the local protocol server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fakes.localserver import LocalAPIServer
from llm.backends import make_backend
from llm.pricing import Price
from llm.request import Request, Response, Sampling, Tool, ToolCall, user
from llm.settings import LLMSettings

KEY = "test-key"
MODEL = "claude-local-20250101"
LOOKUP = Tool("lookup", "Look a word up", {"type": "object", "required": ["word"]})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalAPIServer]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MSM_WORK_DIR", str(tmp_path / "work"))
    with LocalAPIServer(api_key=KEY, model_id=MODEL) as srv:
        yield srv


@pytest.mark.parametrize("backend", ["anthropic", "openai"])
def test_tool_calls_come_back(server: LocalAPIServer, tmp_path: Path, backend: str) -> None:
    settings = LLMSettings(
        anthropic_base_url=server.url, openai_base_url=server.openai_url, batch_purposes=[]
    )
    b = make_backend(backend, MODEL, settings, Price(1.0, 1.0), tmp_path / "cache")
    with_tools = Request(backend, MODEL, user("Define 'ort'."), Sampling(0.0, 200), tools=(LOOKUP,))
    plain = Request(backend, MODEL, user("Define 'ort'."), Sampling(0.0, 200))
    try:
        answers = {r.key: a for r, a in b.generate([with_tools, plain])}
    finally:
        b.close()
    called = answers[with_tools.key]
    assert isinstance(called, Response) and called.stop_reason == "tool_use"
    ((call),) = called.tool_calls
    assert isinstance(call, ToolCall) and (call.name, call.arguments) == (
        "lookup",
        {"word": "<word>"},
    )
    assert answers[plain.key].tool_calls == () and answers[plain.key].stop_reason == "end_turn"
    assert called.text  # the text before the call is kept
