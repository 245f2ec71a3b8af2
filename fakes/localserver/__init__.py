"""A protocol-faithful local stand-in for the Anthropic and OpenAI HTTP APIs.

It serves, on 127.0.0.1 only and without ever contacting the internet, the endpoints our
backends call, in the shapes the installed `anthropic` and `openai` SDKs parse:

- Anthropic Messages (`POST /v1/messages`, non-streaming) with a prompt-caching simulation;
- Anthropic Message Batches (`/v1/messages/batches`: create, retrieve, list, cancel, delete and
  the JSONL `results`);
- OpenAI chat completions (`POST /v1/chat/completions`, non-streaming) and `GET /v1/models`.

Tests, benchmarks and dry runs point the real SDKs at `LocalAPIServer.url`. On top of the
protocol it offers latency, fault injection (`Faults`), per-request accounting (every
Messages/chat request with its identity, outcome and whether its answer was fully written) and
one-shot kill hooks that SIGKILL a client's process group at a chosen point, for crash tests.

Run it in the foreground for a manual dry run:

    python -m fakes.localserver --port 8123 --latency 0.2 --api-key test
"""

from fakes.localserver.base import HOST, MODEL_ID
from fakes.localserver.batches import BATCH_EXPIRY_S, CANCEL_DELAY_S, CUSTOM_ID
from fakes.localserver.faults import (
    FAULT_KINDS,
    STATUS_FAULTS,
    Fault,
    FaultKind,
    FaultRule,
    Faults,
)
from fakes.localserver.formats import (
    anthropic_error,
    canonical_json,
    default_responder,
    default_text,
    estimate_tokens,
    openai_error,
    request_identity,
    validate_anthropic,
    validate_openai,
)
from fakes.localserver.kills import BATCH_EVENTS, BatchEvent
from fakes.localserver.records import (
    SUCCESS_OUTCOMES,
    BatchRecord,
    KillRecord,
    RequestRecord,
)
from fakes.localserver.server import LocalAPIServer

__all__ = [
    "BATCH_EVENTS",
    "BATCH_EXPIRY_S",
    "CANCEL_DELAY_S",
    "CUSTOM_ID",
    "FAULT_KINDS",
    "HOST",
    "MODEL_ID",
    "STATUS_FAULTS",
    "SUCCESS_OUTCOMES",
    "BatchEvent",
    "BatchRecord",
    "Fault",
    "FaultKind",
    "FaultRule",
    "Faults",
    "KillRecord",
    "LocalAPIServer",
    "RequestRecord",
    "anthropic_error",
    "canonical_json",
    "default_responder",
    "default_text",
    "estimate_tokens",
    "openai_error",
    "request_identity",
    "validate_anthropic",
    "validate_openai",
]
