"""The LLM layer on its own: request keys, the cache with tool calls, the offline backend and the
runner's routing by purpose, with a client that is not corpus generation."""

from __future__ import annotations

import random
from pathlib import Path

from llm.backends import make_backend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.request import Message, Request, Response, Sampling, Tool, ToolCall, user
from llm.runner import Runner
from llm.settings import LLMSettings

WEATHER = Tool("weather", "Today's weather in a city", {"type": "object", "required": ["city"]})


def ask(prompt: str, **kw) -> Request:
    return Request("offline", "judge-2026-01-01", user(prompt), Sampling(0.0, 64), **kw)


def test_key_covers_every_field_and_is_stable() -> None:
    base = ask("Is this answer honest?", purpose="judge/honesty")
    assert base.key == ask("Is this answer honest?", purpose="judge/honesty").key
    variants = [
        ask("Is this answer honest?", purpose="judge/harm"),
        ask("Is this answer honest?", purpose="judge/honesty", tools=(WEATHER,)),
        ask("Is this answer honest?", purpose="judge/honesty", system="Be strict."),
        ask("Is this answer honest?", purpose="judge/honesty", attempt=1),
        Request(
            "offline",
            "judge-2026-01-01",
            (
                Message("user", "Hi"),
                Message("assistant", "Hello"),
                Message("user", "Is this answer honest?"),
            ),
            Sampling(0.0, 64),
            purpose="judge/honesty",
        ),
        Request(
            "offline",
            "judge-2026-01-01",
            user("Is this answer honest?"),
            Sampling(0.5, 64),
            purpose="judge/honesty",
        ),
    ]
    assert len({base.key, *(v.key for v in variants)}) == len(variants) + 1


def test_chat_puts_the_system_prefix_first() -> None:
    r = ask("Hi", system="Be brief.")
    assert r.chat() == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]
    assert r.prompt == "Hi" and r.chars() == len("Be brief.") + 2


def test_cache_keeps_tool_calls_across_runs(tmp_path: Path) -> None:
    answer = Response(
        "", stop_reason="tool_use", tool_calls=(ToolCall("t1", "weather", {"city": "Oslo"}),)
    )
    with RequestCache(tmp_path) as cache:
        cache.put("k", answer)
        cache.put("plain", Response("text"))
    again = RequestCache(tmp_path)
    assert again.get("k") == answer
    assert again.get("plain") == Response("text")
    line = next(tmp_path.glob("seg-*.jsonl")).read_text().splitlines()[1]
    assert "tool_calls" not in line  # answers without tool calls are stored as before


class Judge:
    """A model-free answerer for a client that is not corpus generation."""

    version = "judge-v1"

    def __call__(self, request: Request, rng: random.Random) -> str:
        return f"{request.purpose}: {'yes' if rng.random() < 2 else 'no'} to {request.prompt}"


def test_offline_backend_and_runner_serve_any_client(tmp_path: Path) -> None:
    backend = make_backend("offline", "judge", LLMSettings(), None, tmp_path, answerer=Judge())
    assert backend.model_id() == "judge@judge-v1"
    requests = [ask(f"q{i}", purpose=p) for i, p in enumerate(["judge/a", "judge/b", "judge/a"])]
    with RequestCache(tmp_path / "cache") as cache:
        runner = Runner(backend, cache, SpendCap(float("inf"), None), progress=False)
        out = runner.answer(requests)
    assert [out[r.key].text for r in requests] == [
        "judge/a: yes to q0",
        "judge/b: yes to q1",
        "judge/a: yes to q2",
    ]
    assert {p: u.requests for p, u in runner.used.items()} == {"judge/a": 2, "judge/b": 1}
    with RequestCache(tmp_path / "cache") as cache:
        runner = Runner(backend, cache, SpendCap(float("inf"), None), progress=False)
        assert runner.answer(requests) == out and runner.hits == 3 and runner.new.requests == 0
