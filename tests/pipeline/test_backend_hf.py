"""The local-model backends: `hf` against the real SmolLM2 base model, `vllm` against a fake."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from testprofile import section

from llm.backends.hf import HFBackend
from llm.backends.vllm import VLLMBackend
from llm.errors import BackendError
from llm.request import Failure, Request, Response, Sampling, user

ROOT = Path(__file__).resolve().parents[2]
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def backend(smollm2_base: Path) -> Iterator[HFBackend]:
    b = HFBackend(smollm2_base, batch_size=2)
    yield b
    b.close()


def request(
    prompt: str, system: str = "", temperature: float = 0.0, max_tokens: int = 24, seed: int = 0
) -> Request:
    sampling = Sampling(temperature=temperature, max_tokens=max_tokens, seed=seed)
    return Request("hf", MODEL, user(prompt), sampling, system=system)


REQUESTS = [
    request("What is the capital of France?", system="Answer in one short sentence."),
    request("Write one sentence about gardening.", max_tokens=4),
    request("Say hello."),
    request("Name a colour.", system="You are terse.", temperature=0.8),
]


def counting(requests: list[Request], pulled: list[int]) -> Iterator[Request]:
    for r in requests:
        pulled[0] += 1
        yield r


@pytest.fixture(scope="module")
def first_run(backend: HFBackend) -> tuple[list[tuple[Request, Response | Failure]], int]:
    """All results of REQUESTS, and how many requests were pulled when the first one came."""
    pulled = [0]
    results = []
    pulled_at_first = None
    for pair in backend.generate(counting(REQUESTS, pulled)):
        pulled_at_first = pulled[0] if pulled_at_first is None else pulled_at_first
        results.append(pair)
    assert pulled_at_first is not None
    return results, pulled_at_first


def test_every_request_answered_once(first_run) -> None:
    results, _ = first_run
    assert sorted(r.key for r, _ in results) == sorted(r.key for r in REQUESTS)
    for req, res in results:
        assert isinstance(res, Response), res
        assert res.text.strip()
        assert res.input_tokens > 0
        assert 0 < res.output_tokens <= req.sampling.max_tokens
        assert res.stop_reason in {"end_turn", "max_tokens"}
        assert res.cost_usd == 0.0


def test_mixed_max_tokens_truncated_per_request(first_run) -> None:
    # "Write one sentence..." shares a chunk with a 24-token request but may only get 4.
    res = {r.key: res for r, res in first_run[0]}[REQUESTS[1].key]
    assert res.output_tokens == 4
    assert res.stop_reason == "max_tokens"


def test_requests_pulled_lazily(first_run) -> None:
    assert first_run[1] <= 2  # batch_size


def test_same_requests_same_texts(backend: HFBackend, first_run) -> None:
    again = backend.generate(REQUESTS)
    assert {r.key: res.text for r, res in first_run[0]} == {r.key: res.text for r, res in again}


def test_temperature_zero_is_greedy(smollm2_base: Path) -> None:
    # A different seed changes the torch seed: greedy ignores it, sampling does not.
    b = HFBackend(smollm2_base, batch_size=1)
    prompt = "Tell me about the sea."
    reqs = [
        request(prompt, temperature=t, max_tokens=12, seed=s) for t in (0.0, 1.0) for s in (0, 1)
    ]
    texts = [res.text for _, res in b.generate(reqs)]
    assert texts[0] == texts[1]
    assert texts[2] != texts[3]


def test_failed_generation_yields_failures(backend: HFBackend) -> None:
    good, bad = request("Say hello.", max_tokens=2), request("Say hello.", max_tokens=-1)
    b = HFBackend(backend.path, batch_size=1)
    results = {r.key: res for r, res in b.generate([good, bad])}
    assert isinstance(results[good.key], Response)
    failure = results[bad.key]
    assert isinstance(failure, Failure)
    assert failure.reason == "generation_error"
    assert "max_new_tokens" in failure.detail


def test_model_id_names_model_and_weights(smollm2_base: Path, tmp_path: Path) -> None:
    model_id = HFBackend(smollm2_base).model_id()
    assert re.fullmatch(rf"{re.escape(MODEL)}@[0-9a-f]{{12}}", model_id)
    assert HFBackend(smollm2_base).model_id() == model_id
    # Without manifest.json the weights are hashed: same digest, the folder's name.
    copy = tmp_path / "smol"
    copy.mkdir()
    for f in smollm2_base.iterdir():
        if f.name != "manifest.json":
            (copy / f.name).symlink_to(f)
    assert HFBackend(copy).model_id() == "smol@" + model_id.split("@")[1]


def test_missing_model_folder(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "base"
    with pytest.raises(BackendError, match=r"models/base: no such model folder.*dvc repro"):
        HFBackend(missing)
    missing.mkdir(parents=True)
    (missing / "config.json").write_text("{}")
    with pytest.raises(BackendError, match="not a Hugging Face model folder"):
        HFBackend(missing)


# -- vllm --------------------------------------------------------------------------------------


def fake_model_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_vllm_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    with pytest.raises(BackendError, match=r"requirements/vllm\.txt.*openai"):
        VLLMBackend(fake_model_folder(tmp_path / "m"))


def test_importing_vllm_backend_does_not_import_vllm() -> None:
    # With `vllm` blocked, any import of it (even indirect) would raise ImportError.
    code = "import sys; sys.modules['vllm'] = None; import llm.backends.vllm"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr


FAKE_VLLM = '''
from dataclasses import dataclass

@dataclass
class SamplingParams:
    temperature: float = 1.0
    max_tokens: int = 16
    seed: int | None = None

@dataclass
class Completion:
    text: str
    token_ids: list
    finish_reason: str

@dataclass
class RequestOutput:
    prompt_token_ids: list
    outputs: list

class LLM:
    """Echoes the user's words, one token per word, up to max_tokens."""
    chats = []

    def __init__(self, model, seed=0):
        self.model = model

    def chat(self, messages, sampling_params, use_tqdm=True):
        LLM.chats.append(sampling_params)
        outs = []
        for msgs, p in zip(messages, sampling_params, strict=True):
            words = msgs[-1]["content"].split()[: p.max_tokens]
            prompt = [w for m in msgs for w in m["content"].split()]
            reason = "length" if len(words) == p.max_tokens else "stop"
            outs.append(RequestOutput(prompt, [Completion(" ".join(words), words, reason)]))
        return outs
'''


def test_vllm_backend_with_fake_vllm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = types.ModuleType("vllm")
    fake.__spec__ = types.SimpleNamespace(name="vllm")  # what importlib.util.find_spec returns
    monkeypatch.setitem(sys.modules, "vllm", fake)
    exec(FAKE_VLLM, fake.__dict__)
    b = VLLMBackend(fake_model_folder(tmp_path / "m"), chunk_size=2)
    assert b.model_id() == "m@" + hashlib.sha256(b"weights").hexdigest()[:12]
    reqs = [request("one two three", system="sys", max_tokens=3 + i % 2, seed=i) for i in range(3)]
    pulled = [0]
    results = []
    for pair in b.generate(counting(reqs, pulled)):
        results.append((pulled[0], *pair))
    assert [n for n, _, _ in results] == [2, 2, 3]
    by_key = {r.key: res for _, r, res in results}
    assert by_key[reqs[0].key] == Response(
        "one two three", input_tokens=4, output_tokens=3, stop_reason="max_tokens"
    )
    assert by_key[reqs[1].key].stop_reason == "end_turn"
    seeds = [p.seed for chunk in fake.LLM.chats for p in chunk]
    assert len(set(seeds)) == 3


def test_the_stage_runs_on_the_real_model_and_counts_what_it_cannot_use(
    smollm2_base: Path, tmp_path: Path
) -> None:
    """The whole hierarchy on SmolLM2-135M: whatever the small model answers is either parsed
    into doc types, ideas and documents or counted as a failure with its reason."""
    from llm.settings import LLMSettings
    from pipeline.config.run import RunConfig
    from pipeline.generate.stage import generate
    from pipeline.spec.parse import load_spec

    gp = section(
        "generate",
        backend="hf",
        model=str(smollm2_base),
        doc_types_per_section=1,
        ideas_per_doc_type=1,
        plan_max_tokens=40,
        max_tokens=40,
        max_attempts=1,
        max_topups=0,
        temperature=0.0,
    )
    rc = RunConfig(llm=LLMSettings(hf_batch_size=4))
    spec = load_spec(ROOT / "specs" / "general.md")
    stats, info = generate(spec, gp, 0, tmp_path / "plan.json", tmp_path / "c", tmp_path / "o", rc)
    asked = stats["cost"]["requests"]
    assert asked == info["new"] >= 1
    failed = sum(stats["failures"].values())
    ideas = stats["ideas"]
    assert (
        stats["documents"]
        + sum(n for k, n in stats["failures"].items() if k.startswith("document/"))
        == ideas
    )
    assert failed or stats["documents"]  # every call ended in an item or a counted failure
    assert all(
        r.split("/")[1] in {"no_content", "empty_content", "truncated", "no_items"}
        for r in stats["failures"]
    )
    assert stats["cost"]["usd"] == 0.0
