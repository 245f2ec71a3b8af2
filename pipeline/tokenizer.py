"""The experiment's tokenizer, as `pack` and `quality` use it.

`model.tokenizer` in params.yaml chooses it: empty (the default) means the base model's folder
that `dvc.yaml` passes (`models/base`); otherwise a local `tokenizer.json`, a local Hugging Face
folder, or a hub id (only with `HF_HUB_OFFLINE=0`). The sha256 of its `tokenizer.json` (or of
the serialized tokenizer, for a hub id) goes into the shard manifest.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from pipeline.errors import ConfigError, InputError
from pipeline.io import sha256_file, sha256_text

# Tried in order when a bare tokenizer.json comes without a tokenizer_config.json.
_EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|im_end|>", "<eos>", "<|end_of_text|>")


@dataclass(frozen=True)
class LoadedTokenizer:
    tokenizer: Tokenizer
    eos_id: int
    sha256: str
    source: str


def load_tokenizer(default: Path, choice: str = "") -> LoadedTokenizer:
    """Load `choice` (see module docstring), or the folder `default` when it is empty."""
    path = _local_file(default, choice)
    if path is None:
        return _from_hub(choice)
    return _from_file(path, path.parent / "tokenizer_config.json")


def tokenizer_text(default: Path, choice: str = "") -> str:
    """The JSON of the tokenizer that `load_tokenizer` loads, without building it (a local
    file is read as it is: parsing SmolLM2's takes ~0.2 s, and counting tokens needs no eos)."""
    path = _local_file(default, choice)
    if path is None:
        return _from_hub(choice).tokenizer.to_str()
    return path.read_text(encoding="utf-8")


def _local_file(default: Path, choice: str) -> Path | None:
    """The tokenizer.json file that `choice` (or `default`) names; None for a hub id."""
    if not choice:
        return _in_folder(default, hint="run the base_model stage (`dvc repro base_model`)")
    path = Path(choice)
    if path.is_dir():
        return _in_folder(path, hint="point model.tokenizer at a folder with tokenizer.json")
    if path.suffix == ".json":
        if not path.is_file():
            raise ConfigError(f"params.yaml: model.tokenizer {choice!r}: no such file")
        return path
    return None


def _in_folder(folder: Path, hint: str) -> Path:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise InputError(f"{path}: no tokenizer.json; {hint}")
    return path


def _from_file(path: Path, config: Path) -> LoadedTokenizer:
    tok = Tokenizer.from_file(str(path))
    eos = None
    if config.is_file():
        eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
        eos = eos["content"] if isinstance(eos, dict) else eos
    candidates = [eos] if eos else list(_EOS_CANDIDATES)
    eos_id = next((i for c in candidates if (i := tok.token_to_id(c)) is not None), None)
    if eos_id is None and eos:
        raise InputError(
            f"{config}: eos_token {eos!r} is not in the vocabulary of {path}; fix eos_token"
        )
    if eos_id is None:
        raise InputError(
            f"{path}: no end-of-document token found (tried {', '.join(candidates)}); put a "
            "tokenizer_config.json with `eos_token` next to it"
        )
    return LoadedTokenizer(tok, eos_id, sha256_file(path), str(path))


def _from_hub(name: str) -> LoadedTokenizer:
    if os.environ.get("HF_HUB_OFFLINE", "1") != "0":
        raise ConfigError(
            f"params.yaml: model.tokenizer {name!r} is neither a local folder nor a .json file, "
            "and the hub is off (HF_HUB_OFFLINE=1); download it to a folder, or run with "
            "HF_HUB_OFFLINE=0 where a hub is reachable"
        )
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(name)
    if hf.eos_token_id is None:
        raise InputError(f"{name}: the tokenizer has no eos_token; choose another model.tokenizer")
    tok = hf.backend_tokenizer
    return LoadedTokenizer(tok, hf.eos_token_id, sha256_text(tok.to_str()), name)
