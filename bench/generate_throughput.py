"""Sustained request rate of the generation path against a local server with fixed latency.

    python bench/generate_throughput.py --requests 3000 --latency 0.2 --concurrency 64

Starts `python -m fakes.localserver` in its own process (so server and client do
not share an interpreter), then times on the same server in the same run:
1. the peer figure: the bare `anthropic` SDK (`AsyncAnthropic`, retries off), `concurrency`
   requests in flight through an asyncio semaphore, answers discarded;
2. ours: the full generation path of `msm generate`'s Messages level (the `Runner` with the
   spending cap, the `AnthropicBackend` with our retry layer, and every answer committed and
   fsync'd to a `RequestCache` as it arrives).
Prints requests/s of each, the fraction of the ideal (concurrency / latency), and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anthropic

from llm.backends.anthropic import AnthropicBackend
from llm.cache import RequestCache
from llm.pricing import SpendCap
from llm.request import Request
from llm.runner import Runner
from llm.settings import LLMSettings
from pipeline.config.run import Price

KEY = "bench-key"
MODEL = "claude-bench-20250101"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, latency: float) -> subprocess.Popen:
    args = [
        "--port",
        str(port),
        "--latency",
        str(latency),
        "--api-key",
        KEY,
        "--responder",
        "plain",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "fakes.localserver", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the local server did not start")


def requests(n: int, tag: str) -> list[Request]:
    return [
        Request("anthropic", MODEL, "system prompt " * 20, f"{tag} request {i}", 1.0, 200, 0, i)
        for i in range(n)
    ]


async def bare_sdk(url: str, n: int, concurrency: int) -> float:
    client = anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0, timeout=60)
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            await client.messages.create(
                model=MODEL,
                max_tokens=200,
                system="system prompt " * 20,
                messages=[{"role": "user", "content": f"sdk request {i}"}],
            )

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    took = time.perf_counter() - start
    await client.close()
    return n / took


def ours(url: str, n: int, concurrency: int, work: Path) -> float:
    os.environ["ANTHROPIC_API_KEY"] = KEY
    settings = LLMSettings(
        concurrency=concurrency, anthropic_base_url=url, batch_purposes=[], timeout_s=60
    )
    price = Price(3.0, 15.0, 0.5)
    backend = AnthropicBackend(MODEL, settings, price, work / "journal", batches=False)
    try:
        with RequestCache(work / "cache", durable=True) as cache:
            runner = Runner(backend, cache, SpendCap(1e9, price), progress=False)
            batch = requests(n, "ours")
            start = time.perf_counter()
            answers = runner.answer(batch, "document")
            took = time.perf_counter() - start
            assert len(answers) == n and not runner.failures, runner.failures
    finally:
        backend.close()
    return n / took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    args = ap.parse_args()
    ideal = args.concurrency / args.latency
    port = free_port()
    server = start_server(port, args.latency)
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(bare_sdk(url, args.concurrency * 2, args.concurrency))  # warm-up
        sdk = asyncio.run(bare_sdk(url, args.requests, args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            ours(url, args.concurrency * 2, args.concurrency, Path(tmp) / "warm")
            mine = ours(url, args.requests, args.concurrency, Path(tmp) / "run")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"{args.requests} requests, latency {args.latency * 1000:.0f} ms, concurrency "
        f"{args.concurrency}: ideal {ideal:.0f} req/s"
    )
    print(f"bare anthropic SDK (peer): {sdk:7.1f} req/s  ({sdk / ideal:.1%} of ideal)")
    print(f"msm generate path (ours):  {mine:7.1f} req/s  ({mine / ideal:.1%} of ideal)")
    print(f"ours / peer: {mine / sdk:.2f}x")


if __name__ == "__main__":
    main()
