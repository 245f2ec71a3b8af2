"""The models an eval compares: base, msm (base + MSM), aft (base + MSM + AFT) and aft_only
(base + AFT, no MSM).

`Arms.load(arm)` gives a torch model for scoring (log-probabilities, losses) in `dtype` on
`device` (run.yaml `evaluate.device`: auto picks the first GPU when torch sees one; the scorers
move their inputs to the model's device and return CPU floats). `Arms.folder(arm)` gives a plain
Hugging Face folder for the `hf` generation backend: the base folder itself, a fully fine-tuned
MSM folder itself, or, for a LoRA adapter, the adapter merged into its base and saved in this
run's folder under `$MSM_WORK_DIR/eval-models/` (not a DVC output; built once per run, removed
by `close()` when the run ends: `training/evals/merged.py` says why). `Arms.fingerprint(arm)` is
the content hash of what `load(arm)` reads, the model's part of an eval result's cache key
(`training/evals/results.py`); the device is not part of it (it changes speed, not what is
computed, beyond floating-point noise).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch

from llm.backends.hf import folder_model_id
from pipeline.errors import InputError
from pipeline.io import MANIFEST, file_checksums, sha256_text, write_json
from training.evals.merged import RunFolder
from training.model import is_adapter, load_base, load_tokenizer, load_trained

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arms:
    base: Path
    msm: Path
    aft: Path
    aft_only: Path | None
    """The AFT-only adapter (`models/aft_only`); None where no eval asks for that arm."""
    dtype: str
    device: str = "auto"
    """Where `load` puts a model: auto, cpu, cuda or cuda:N (run.yaml `evaluate.device`)."""
    _digests: dict[Path, str] = field(default_factory=dict, compare=False, repr=False)
    """Folder digests, computed once per `Arms` (one `msm evaluate` run)."""
    _merged: RunFolder = field(default_factory=RunFolder, compare=False, repr=False)
    """This run's merged model folders (`folder`), removed by `close`."""

    def fingerprint(self, arm: str) -> str:
        """sha256 of the dtype and the content of every folder `load(arm)` reads: the base, then
        the MSM folder (msm, aft), the AFT adapter (aft) or the AFT-only adapter (aft_only)."""
        folders = [self.base]
        if arm in ("msm", "aft"):
            folders.append(self.msm)
        if arm == "aft":
            folders.append(self.aft)
        if arm == "aft_only":
            folders.append(self._aft_only())
        lines = [self.dtype, arm, *(self._digest(f) for f in folders)]
        return sha256_text("\n".join(lines))

    def _digest(self, folder: Path) -> str:
        """The files' sha256 by relative path: from the manifest that `msm base-model` writes
        (so the weights are not hashed on every run), else by reading every file."""
        if folder not in self._digests:
            manifest = folder / MANIFEST
            files = json.loads(manifest.read_text()).get("files") if manifest.is_file() else None
            if not isinstance(files, dict) or not files:
                if not folder.is_dir():
                    raise InputError(f"{folder}: no such model folder")
                files = file_checksums(folder)
            self._digests[folder] = sha256_text(json.dumps(files, sort_keys=True))
        return self._digests[folder]

    def load(self, arm: str):
        device = eval_device(self.device)  # a device this machine lacks fails before loading
        if arm == "base":
            model = load_base(self.base, self.dtype)
        elif arm == "msm":
            model = load_trained(self.base, self.msm, dtype=self.dtype)
        elif arm == "aft_only":
            model = load_trained(self.base, self._aft_only(), dtype=self.dtype)
        else:
            model = load_trained(self.base, self.msm, self.aft, dtype=self.dtype)
        return model.to(device).eval()

    def folder(self, arm: str) -> Path:
        if arm == "base":
            return self.base
        if arm == "msm" and not is_adapter(self.msm):
            return self.msm
        adapter = {"msm": self.msm, "aft": self.aft}.get(arm) or self._aft_only()
        under = self.base if arm == "aft_only" or is_adapter(self.msm) else self.msm
        h = hashlib.sha256(folder_model_id(under).encode())
        for name, digest in sorted(file_checksums(adapter).items()):
            h.update(f"{name} {digest}\n".encode())
        out = self._merged.get() / f"{arm}-{h.hexdigest()[:16]}"
        if not (out / MANIFEST).is_file():
            self._merge(arm, out)
        return out

    def close(self) -> None:
        """Remove the model folders `folder` merged (the run is over)."""
        self._merged.close()

    def _aft_only(self) -> Path:
        if self.aft_only is None:
            raise InputError(
                "evaluate.models names aft_only but no AFT-only adapter was given: pass "
                "--aft-only models/aft_only (the train_aft_only stage writes it)"
            )
        return self.aft_only

    def _merge(self, arm: str, out: Path) -> None:
        log.info("merging the %s adapter into a model folder for sampling: %s", arm, out)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.load(arm).merge_and_unload().save_pretrained(tmp)
        load_tokenizer(self.base).save_pretrained(tmp)
        write_json(tmp / MANIFEST, {"source": f"merged {arm}", "files": file_checksums(tmp)})
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)


def eval_device(setting: str) -> torch.device:
    """The device of run.yaml `evaluate.device` on this machine."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(setting.partition(":")[2] or 0)
        if index >= count:
            raise InputError(
                f"run.yaml evaluate.device is {setting!r} but torch sees "
                f"{count or 'no'} CUDA device(s) on this machine: set `evaluate: {{device: auto}}` "
                "(the GPU when there is one, else the CPU) or `{device: cpu}` in run.yaml, or run "
                "on a machine with that GPU"
            )
    return torch.device(setting)
