"""The `hf` backend: a local transformers causal LM, batched, on CPU or GPU.

The model is a local Hugging Face folder with a chat template; nothing is fetched from a hub. The
project's default is the base model folder `models/base` (SmolLM2-135M-Instruct) that
`dvc repro base_model` writes. Requests are taken `batch_size` at a time; the requests of one
batch that share a temperature are generated together (left padding) with torch seeded from
their keys, so the same batch always gives the same texts. Batching changes floating-point sums a
little, so an answer can depend on its batch neighbours; the cache keeps the first one.

Tiny CPU check (SmolLM2-135M, a few seconds; ~13 tokens/s per sequence on one core):

    >>> from llm.backends.hf import HFBackend
    >>> from llm.request import Request, Sampling, user
    >>> hf = HFBackend("models/base", batch_size=2)
    >>> ask = user("What is the capital of France?")
    >>> req = Request("hf", hf.model_id(), ask, Sampling(temperature=0.0, max_tokens=24))
    >>> next(hf.generate([req]))[1].text
    'The capital of France is Paris.'
"""

from __future__ import annotations

import gc
import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import groupby, islice
from pathlib import Path
from typing import Any

from llm.errors import BackendError
from llm.request import Failure, Request, Response
from pipeline.io import MANIFEST, sha256_file

log = logging.getLogger(__name__)

FIX = (
    "build the base model with `dvc repro base_model` (or `dvc pull`), "
    "or point the backend at a local Hugging Face model folder"
)
DTYPES = ("auto", "float32", "bfloat16", "float16")


def check_model_folder(path: str | Path) -> Path:
    """Return `path` if it looks like a Hugging Face model folder, else raise BackendError."""
    folder = Path(path)
    if not folder.is_dir():
        raise BackendError(f"{folder}: no such model folder; {FIX}")
    if not (folder / "config.json").is_file() or not weight_files(folder):
        raise BackendError(
            f"{folder}: not a Hugging Face model folder (needs config.json and *.safetensors "
            f"or pytorch_model*.bin); {FIX}"
        )
    return folder


def weight_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))


def folder_model_id(folder: Path) -> str:
    """`<model name>@<first 12 hex of the weights' sha256>`: changes whenever the weights do.

    The name is the pointer's model name from manifest.json (written by `msm base-model`), else
    config.json's `_name_or_path`, else the folder name. The digest is the sha256 of the single
    weights file (of `name digest` lines when sharded); digests recorded in manifest.json are
    reused, so the 500 MB of weights are not hashed on every run.
    """
    manifest = _read_json(folder / MANIFEST)
    config = _read_json(folder / "config.json")
    name = (
        manifest.get("pointer", {}).get("model")
        or config.get("_name_or_path")
        or folder.resolve().name
    )
    recorded = manifest.get("files", {})
    digests = [(p.name, recorded.get(p.name) or sha256_file(p)) for p in weight_files(folder)]
    if len(digests) == 1:
        digest = digests[0][1]
    else:
        digest = hashlib.sha256("".join(f"{n} {d}\n" for n, d in digests).encode()).hexdigest()
    return f"{name}@{digest[:12]}"


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise BackendError(f"{path}: not valid JSON ({err}); rebuild the model folder") from err
    return data if isinstance(data, dict) else {}


def chat_messages(request: Request) -> list[dict[str, str]]:
    if request.tools:
        raise BackendError("local model backends do not take tools; use anthropic or openai")
    return request.chat()


def key_seed(text: str) -> int:
    """A seed below 2**60 derived from `text` (fits every generator's seed range)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:15], 16)


class HFBackend:
    name = "hf"
    paid = False

    def __init__(
        self,
        model_path: str | Path,
        batch_size: int = 8,
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        """`device`: auto (cuda if available, else cpu), cpu, cuda, cuda:1, ...; `dtype`: auto
        (bfloat16 on cuda, float32 on cpu), float32, bfloat16 or float16. The model is loaded
        on the first request, so `model_id()` stays cheap."""
        self.path = check_model_folder(model_path)
        if batch_size < 1:
            raise BackendError(f"hf backend: batch_size must be >= 1, got {batch_size}")
        if dtype not in DTYPES:
            raise BackendError(f"hf backend: unknown dtype {dtype!r}; known: {', '.join(DTYPES)}")
        self.batch_size = batch_size
        self.device = device
        self.dtype = dtype
        self._model: Any = None
        self._tokenizer: Any = None
        self._eos_ids: set[int] = set()

    @cached_property
    def _model_id(self) -> str:
        return folder_model_id(self.path)

    def model_id(self) -> str:
        return self._model_id

    def generate(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        pending = iter(requests)
        while chunk := list(islice(pending, self.batch_size)):
            self._load()
            # One `model.generate` call per temperature; a run normally uses one per purpose.
            chunk.sort(key=lambda r: (r.sampling.temperature, r.chars(), r.key))
            for _, group in groupby(chunk, key=lambda r: r.sampling.temperature):
                yield from self._answer(list(group))

    def uses_batch(self, kind: str) -> bool:
        return False

    def close(self) -> None:
        if self._model is None:
            return
        self._model = self._tokenizer = None
        gc.collect()
        self._empty_cuda_cache()

    # -- internals ---------------------------------------------------------------------------

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = self.dtype
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(
                self.path, dtype=getattr(torch, dtype), local_files_only=True
            )
        except (OSError, ValueError) as err:
            raise BackendError(f"{self.path}: cannot load the model ({err}); {FIX}") from err
        if not tokenizer.chat_template:
            raise BackendError(
                f"{self.path}: the tokenizer has no chat template; the hf backend needs an "
                "instruction-tuned model folder with chat_template.jinja"
            )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        eos_ids.add(tokenizer.eos_token_id)
        self._eos_ids = {i for i in eos_ids if i is not None}
        self._model = model.to(device).eval()
        self._tokenizer = tokenizer
        log.info("hf: %s on %s (%s)", self.model_id(), device, dtype)

    def _answer(self, group: list[Request]) -> Iterator[tuple[Request, Response | Failure]]:
        try:
            results: list[Response | Failure] = list(self._run(group))
        except Exception as err:  # CUDA OOM, bad sampling values...: the requests are not lost
            log.warning("hf: %d requests failed: %s: %s", len(group), type(err).__name__, err)
            self._empty_cuda_cache()
            detail = f"{type(err).__name__}: {err}"[:500]
            results = [Failure("generation_error", detail)] * len(group)
        yield from zip(group, results, strict=True)

    def _run(self, group: list[Request]) -> Iterator[Response]:
        import torch

        tok, model = self._tokenizer, self._model
        texts = [
            tok.apply_chat_template(chat_messages(r), tokenize=False, add_generation_prompt=True)
            for r in group
        ]
        # The chat template already holds the special tokens.
        batch = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(model.device)
        temperature = group[0].sampling.temperature
        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            # Plain temperature sampling, as the API backends do: no top-k/top-p defaults.
            sampling = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        rng_devices = [model.device] if model.device.type == "cuda" else []
        with torch.inference_mode(), torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(key_seed("".join(r.key for r in group)))
            out = model.generate(
                **batch,
                max_new_tokens=max(r.sampling.max_tokens for r in group),
                pad_token_id=tok.pad_token_id,
                eos_token_id=sorted(self._eos_ids),
                **sampling,
            )
        prompt_width = batch["input_ids"].shape[1]
        prompt_lens = batch["attention_mask"].sum(dim=1).tolist()
        for request, ids, n_in in zip(
            group, out[:, prompt_width:].tolist(), prompt_lens, strict=True
        ):
            ids = ids[: request.sampling.max_tokens]
            end = next((i for i, t in enumerate(ids) if t in self._eos_ids), None)
            kept = ids if end is None else ids[:end]
            yield Response(
                text=tok.decode(kept, skip_special_tokens=True),
                input_tokens=int(n_in),
                output_tokens=len(kept),
                stop_reason="max_tokens" if end is None else "end_turn",
                cost_usd=0.0,
            )

    def _empty_cuda_cache(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
