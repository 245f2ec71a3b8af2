"""Serve the local API in the foreground until SIGTERM or Ctrl-C:

python -m fakes.localserver --port 8123 --latency 0.2 --api-key test
python -m fakes.localserver --write-config dry    # also: dry/params.yaml and dry/run.yaml

By default it answers with `fakes.standin.LocalModel`, which follows this
project's prompt formats (doc types, ideas, documents), so `msm generate` with the anthropic or
openai backend pointed at it runs end to end at no cost; `--responder plain` answers every
request with a generic content section (what the throughput benchmark uses); `--responder aft`
answers the AFT prompts (`fakes.aft_standin`), for `msm aft-data` with a spec source;
`--responder agentic` acts as the agent and the judge of the agentic-misalignment eval
(`fakes.agentic_standin`), for `msm evaluate` with `backend: openai`.

`--write-config DIR` writes, once the server listens, a copy of ./params.yaml whose generation
uses the anthropic backend with a dated model priced in run.yaml, and a copy of ./run.yaml whose
`llm.anthropic_base_url` is this server: the dry run of the paid path (README, "Generation").
Every request is logged as it completes, numbered, with its model and outcome.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from pathlib import Path

import yaml

from fakes.aft_standin import aft_model
from fakes.agentic_standin import agentic_model
from fakes.localserver.formats import default_responder
from fakes.localserver.server import LocalAPIServer
from fakes.standin import LocalModel

log = logging.getLogger(__name__)
DRY_MODEL = "claude-sonnet-4-5-20250929"


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
    parser.add_argument(
        "--write-config",
        type=Path,
        metavar="DIR",
        help="write DIR/params.yaml and DIR/run.yaml pointing `msm generate` at this server",
    )
    parser.add_argument("--model", default=DRY_MODEL, help="dated model id for --write-config")
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
        if args.write_config:
            write_config(args.write_config, server.url, args.model)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    log.info("stopped")


def write_config(folder: Path, url: str, model: str) -> None:
    """params.yaml and run.yaml of the current folder, pointed at the server at `url`."""
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    params["generate"].update(backend="anthropic", model=model)
    run = yaml.safe_load(Path("run.yaml").read_text(encoding="utf-8")) or {}
    run["llm"] = {**(run.get("llm") or {}), "anthropic_base_url": url}
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in (("run.yaml", run), ("params.yaml", params)):  # params.yaml last: "ready"
        tmp = folder / f".{name}.tmp"
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        tmp.replace(folder / name)
    log.info("wrote %s and %s: generate.backend anthropic, model %s, at %s",
             folder / "params.yaml", folder / "run.yaml", model, url)  # fmt: skip


if __name__ == "__main__":
    main()
