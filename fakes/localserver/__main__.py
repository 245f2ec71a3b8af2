"""Serve the local API in the foreground until SIGTERM or Ctrl-C:

python -m fakes.localserver --port 8123 --latency 0.2 --api-key test

By default it answers with `fakes.standin.LocalModel`, which follows this
project's prompt formats (doc types, ideas, documents), so `msm generate` with the anthropic or
openai backend pointed at it runs end to end at no cost; `--responder plain` answers every
request with a generic content section (what the throughput benchmark uses); `--responder aft`
answers the AFT prompts (`fakes.aft_standin`), for `msm aft-data` with a spec source;
`--responder agentic` acts as the agent and the judge of the agentic-misalignment eval
(`fakes.agentic_standin`), for `msm evaluate` with `backend: openai`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading

from fakes.aft_standin import aft_model
from fakes.agentic_standin import agentic_model
from fakes.localserver.formats import default_responder
from fakes.localserver.server import LocalAPIServer
from fakes.standin import LocalModel

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve local stand-ins for the Anthropic and OpenAI HTTP APIs on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8123, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per Messages/chat")
    parser.add_argument("--api-key", default="test", help="the key clients must send")
    parser.add_argument("--batch-processing", type=float, default=5.0, help="seconds per batch")
    parser.add_argument("--cache-min-tokens", type=int, default=1024)
    parser.add_argument(
        "--responder",
        choices=("model", "plain", "aft", "agentic"),
        default="model",
        help="model: answers in this project's corpus prompt formats; plain: a generic content "
        "section; aft: answers the AFT prompts; agentic: the agent and judge of the "
        "agentic-misalignment eval",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    responder = {
        "model": LocalModel(),
        "plain": default_responder,
        "aft": aft_model,
        "agentic": agentic_model,
    }[args.responder]
    server = LocalAPIServer(
        api_key=args.api_key,
        responder=responder,
        latency_s=args.latency,
        batch_processing_s=args.batch_processing,
        cache_min_tokens=args.cache_min_tokens,
        port=args.port,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with server:
        log.info("serving the Anthropic API at %s and OpenAI at %s", server.url, server.openai_url)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    log.info("stopped")


if __name__ == "__main__":
    main()
