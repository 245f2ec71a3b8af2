"""The typed view of `params.yaml`: one dataclass per section, validated on load.

This module is the only reader of `params.yaml`. Unknown keys, values of the wrong type and specs
without a file are errors that name the key (with its line), what is allowed, and the fix.
Settings that change only how fast something is produced (workers, concurrency, prices) are not
here: they are run settings (see `pipeline.runconfig`) and never change an output.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPEC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ConfigError(ValueError):
    """A bad `params.yaml`: the message names the file, key, line and fix."""


@dataclass(frozen=True)
class ModelParams:
    """The base model and tokenizer shared by `pack` and the training stages."""

    name: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    """The base model: a model named in `models/base.pointer.json` (materialized from its PyPI
    wheel; the default), a local Hugging Face folder (a path with a `/`; put it under
    `models/local/` so that editing it reruns `base_model`), or a hub id (downloaded into the HF
    cache with HF_HUB_OFFLINE=0)."""
    revision: str = ""
    """Hub commit to pin for a hub id; empty resolves the default branch and records its commit
    in `models/base/manifest.json` (pin it here for a reproducible run). Unused otherwise."""
    dtype: str = "float32"
    """dtype the base weights are saved in (float32, bfloat16 or float16)."""
    tokenizer: str = ""
    """Tokenizer for pack and quality: empty = the base model's; else a local tokenizer.json, a
    local Hugging Face folder, or a hub id (with HF_HUB_OFFLINE=0)."""

    def __post_init__(self) -> None:
        _choice("model.dtype", self.dtype, ("float32", "bfloat16", "float16"))


@dataclass(frozen=True)
class GenerateParams:
    """The generation hierarchy (doc types -> ideas -> documents [-> revision]) and its backend."""

    backend: str = "offline"
    """offline (the deterministic, model-free composer), hf (a local transformers model),
    anthropic, openai (any OpenAI-compatible server, e.g. `vllm serve`) or vllm (in-process)."""
    model: str = "offline-composer-2026-11-27"
    """A dated model id (anthropic, openai), a local model folder (hf, vllm), or the composer's
    id (offline). Recorded in every document; never an alias."""
    doc_types_per_section: int = 4
    ideas_per_doc_type: int = 3
    docs_per_idea: int = 1
    context: str = "section"
    """What a prompt carries: `section` (the section and the spec overview) or `spec`."""
    min_assertion_words: int = 6
    """Sentences shorter than this are not turned into assertions."""
    temperature: float = 1.0
    max_tokens: int = 5000
    """Output-token cap per document (and per revision)."""
    plan_max_tokens: int = 2000
    """Output-token cap per doc-type and idea call."""
    max_attempts: int = 3
    """Calls per item before an unusable answer (no content section, truncated, no parsable
    list) is counted as a failure with its reason."""
    max_topups: int = 2
    """Follow-up calls that list what exists and ask for new doc types or ideas, when a call
    returned fewer distinct ones than asked for."""
    revise: bool = False
    """Add a critique-and-revise call per document; the revision replaces the draft."""
    max_spend_usd: float = 10.0
    """Hard cap on the cost of the corpus's requests (at run.yaml prices): the stage stops
    cleanly before exceeding it, keeping everything bought."""

    def __post_init__(self) -> None:
        _choice("generate.backend", self.backend, BACKENDS)
        _choice("generate.context", self.context, ("section", "spec"))
        for key in (
            "doc_types_per_section",
            "ideas_per_doc_type",
            "docs_per_idea",
            "max_tokens",
            "plan_max_tokens",
            "max_attempts",
        ):
            _positive(f"generate.{key}", getattr(self, key))
        if self.max_topups < 0:
            raise ConfigError(f"`generate.max_topups` must be >= 0, got {self.max_topups}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"`generate.temperature` must be in [0, 2], got {self.temperature}")
        if self.max_spend_usd < 0:
            raise ConfigError(f"`generate.max_spend_usd` must be >= 0, got {self.max_spend_usd}")
        if not self.model.strip():
            raise ConfigError("`generate.model` is empty: name a dated model id or a folder")


BACKENDS = ("offline", "hf", "anthropic", "openai", "vllm")


@dataclass(frozen=True)
class DedupParams:
    """Exact, then MinHash-LSH near-duplicate removal."""

    ngram: int = 5
    """Shingle size in words."""
    bands: int = 14
    rows: int = 8
    """bands x rows permutations; a pair becomes a candidate when one band matches."""
    shifted_bands: bool = True
    """Also band on windows shifted by rows // 2 (bands - 1 more bands from the same signature):
    more recall near the threshold; exact verification keeps precision."""
    threshold: float = 0.7
    """Candidates whose exact word n-gram Jaccard is below this are not linked."""

    def __post_init__(self) -> None:
        for key in ("ngram", "bands", "rows"):
            _positive(f"dedup.{key}", getattr(self, key))
        _unit("dedup.threshold", self.threshold)


@dataclass(frozen=True)
class QualityParams:
    """Heuristic and synthetic-artifact filters; every drop is counted with its reason."""

    min_words: int = 50
    max_words: int = 20000
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_ratio: float = 0.1
    """Fraction of non-alphanumeric, non-space, non-punctuation characters."""
    max_duplicate_line_fraction: float = 0.3
    min_alpha_word_fraction: float = 0.8
    min_stop_words: int = 2
    """Gopher: at least this many of: the, be, to, of, and, that, have, with."""
    max_top_ngram_fractions: list[float] = field(default_factory=lambda: [0.20, 0.18, 0.16])
    """Gopher, for n = 2, 3, 4: most frequent n-gram's share of the characters."""
    max_duplicate_ngram_fractions: list[float] = field(
        default_factory=lambda: [0.15, 0.14, 0.13, 0.12, 0.11, 0.10]
    )
    """Gopher, for n = 5 .. 10: share of characters inside repeated n-grams."""
    max_tokens: int = 0
    """Token budget per spec (0: keep everything); reached by deterministic subsampling."""

    def __post_init__(self) -> None:
        _positive("quality.min_words", self.min_words)
        if self.max_words < self.min_words:
            raise ConfigError("quality.max_words must be >= quality.min_words")
        for key in ("max_symbol_ratio", "max_duplicate_line_fraction", "min_alpha_word_fraction"):
            _unit(f"quality.{key}", getattr(self, key))
        for key in ("max_top_ngram_fractions", "max_duplicate_ngram_fractions"):
            for v in getattr(self, key):
                _unit(f"quality.{key}", v)
        if self.max_tokens < 0:
            raise ConfigError("quality.max_tokens must be >= 0 (0 keeps everything)")


@dataclass(frozen=True)
class PackParams:
    """Tokenize with the base tokenizer and pack into fixed-length sequences."""

    seq_len: int = 512
    val_fraction: float = 0.05
    """Share of documents (not sequences) held out for validation."""
    min_piece: int = 32
    """Shortest piece a split document may have (capped at seq_len // 4)."""
    max_padding: float = 0.01
    """Padding budget: best-fit sequences are re-packed densely (splitting documents) until
    padding is at most this share, or at the floor where that is impossible."""

    def __post_init__(self) -> None:
        _positive("pack.seq_len", self.seq_len)
        _positive("pack.min_piece", self.min_piece)
        _unit("pack.val_fraction", self.val_fraction)
        _unit("pack.max_padding", self.max_padding)


@dataclass(frozen=True)
class LoraParams:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(
        default_factory=lambda: [
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ]
    )


@dataclass(frozen=True)
class TrainParams:
    """LoRA SFT settings of `train_aft`."""

    max_steps: int = 10
    batch_size: int = 4
    grad_accum: int = 1
    lr: float = 1e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    lora: LoraParams = field(default_factory=LoraParams)

    def __post_init__(self) -> None:
        for key in ("max_steps", "batch_size", "grad_accum"):
            _positive(key, getattr(self, key))


@dataclass(frozen=True)
class TrainMsmParams:
    """MSM: next-token prediction on the packed shards (`training/msm.py`)."""

    method: str = "lora"
    """lora (adapters on `lora.target_modules`, the paper's recipe) or full (every weight)."""
    epochs: int = 1
    """Passes over the training shards (the last partial batch of a pass is counted, not
    trained); ignored when `max_steps` > 0."""
    max_steps: int = 0
    """Optimizer steps; 0 means `epochs` passes over the shards."""
    batch_tokens: int = 2048
    """Tokens per optimizer step, all devices together (rows x pack.seq_len); a multiple of
    micro_batch_rows x seq_len x devices, so the recipe does not change with the GPU count."""
    micro_batch_rows: int = 1
    """Rows per device per forward pass; gradient accumulation = batch_tokens / (micro_batch_rows
    x seq_len x devices), recorded in the model manifest."""
    lr: float = 1e-4
    warmup_ratio: float = 0.05
    """Linear warmup as a share of the steps, then cosine decay to zero."""
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    """Gradient clipping by global norm; 0 turns it off."""
    precision: str = "fp32"
    """fp32, or bf16 (bf16 autocast; trainable weights and optimizer state stay in fp32)."""
    log_throughput: bool = False
    """Also record tokens/s and MFU per step in the metrics. They depend on the machine, so the
    metrics then differ run to run: off for the byte-reproducible CPU default, on in the GPU
    profile."""
    lora: LoraParams = field(default_factory=LoraParams)

    def __post_init__(self) -> None:
        _choice("train_msm.method", self.method, ("lora", "full"))
        _choice("train_msm.precision", self.precision, ("fp32", "bf16"))
        for key in ("epochs", "batch_tokens", "micro_batch_rows"):
            _positive(f"train_msm.{key}", getattr(self, key))
        if self.max_steps < 0:
            raise ConfigError(
                f"`train_msm.max_steps` must be 0 (use epochs) or more, got {self.max_steps}"
            )
        _unit("train_msm.warmup_ratio", self.warmup_ratio)
        if self.max_grad_norm < 0:
            raise ConfigError("`train_msm.max_grad_norm` must be 0 (off) or positive")


@dataclass(frozen=True)
class TrainAftParams(TrainParams):
    max_length: int = 256
    """Longest AFT chat in tokens; longer ones are truncated (counted in the stage stats)."""


@dataclass(frozen=True)
class AftDataParams:
    """The AFT set: chats built from a named resource in `training/resources/`."""

    set: str = "cheese_preferences"
    samples: int = 200

    def __post_init__(self) -> None:
        _positive("aft_data.samples", self.samples)


@dataclass(frozen=True)
class EvaluateParams:
    sets: list[str] = field(default_factory=lambda: ["affordability", "america"])
    """Held-out forced-choice preference sets in `training/resources/eval_<set>.yaml`."""
    val_sequences: int = 32
    """Validation sequences of the active spec's shards scored for held-out loss."""
    batch_size: int = 16


@dataclass(frozen=True)
class Params:
    specs: list[str]
    spec: str
    seed: int = 0
    model: ModelParams = field(default_factory=ModelParams)
    generate: GenerateParams = field(default_factory=GenerateParams)
    dedup: DedupParams = field(default_factory=DedupParams)
    quality: QualityParams = field(default_factory=QualityParams)
    pack: PackParams = field(default_factory=PackParams)
    train_msm: TrainMsmParams = field(default_factory=TrainMsmParams)
    aft_data: AftDataParams = field(default_factory=AftDataParams)
    train_aft: TrainAftParams = field(default_factory=TrainAftParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)

    def __post_init__(self) -> None:
        if not self.specs:
            raise ConfigError("`specs` is empty; list at least one spec in specs/")
        for name in self.specs:
            if not SPEC_NAME.match(name):
                raise ConfigError(
                    f"spec name {name!r} in `specs` is not valid; use lowercase "
                    "letters, digits, '_' and '-' (it names specs/<name>.md)"
                )
        if len(set(self.specs)) != len(self.specs):
            raise ConfigError(f"`specs` lists a spec twice: {self.specs}")
        if self.spec not in self.specs:
            raise ConfigError(
                f"`spec: {self.spec}` is not one of `specs` {self.specs}; "
                "add it to `specs` or choose one of them"
            )


def load_params(path: str | Path = "params.yaml", specs_dir: str | Path | None = "specs") -> Params:
    """Read and validate `params.yaml`; with `specs_dir`, check every listed spec has a file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the repository root") from None
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    lines = _key_lines(node)
    params = _build(Params, raw, "", path, lines)
    if specs_dir is not None:
        check_spec_files(params, Path(specs_dir), path)
    return params


def params_from_mapping(raw: Any, path: Path) -> Params:
    """Validate an already-parsed params mapping; errors name `path` (no line numbers)."""
    return _build(Params, raw, "", path, {})


def check_spec_files(params: Params, specs_dir: Path, path: Path = Path("params.yaml")) -> None:
    known = sorted(p.stem for p in specs_dir.glob("*.md"))
    for name in params.specs:
        if not (specs_dir / f"{name}.md").is_file():
            raise ConfigError(
                f"{path}: spec {name!r} listed in `specs` has no file {specs_dir / name}.md; "
                f"known specs: {', '.join(known) or '(none)'}; fix the name or add the file"
            )


def to_dict(obj: Any) -> Any:
    """A plain-data copy of a params dataclass (for manifests and logs)."""
    return dataclasses.asdict(obj)


def build_section(cls: type, raw: Any, key: str, path: Path) -> Any:
    """Validate one mapping of another settings file (e.g. run.yaml) against dataclass `cls`."""
    return _build(cls, raw, f"{key}.", path, {})


# ---------------------------------------------------------------- validation helpers


def _build(cls: type, raw: Any, prefix: str, path: Path, lines: dict[str, int]) -> Any:
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}{_at(lines, prefix)}: `{where}` must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = [k for k in fields if _close(str(key), k)]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{path}{_at(lines, prefix + str(key))}: unknown key `{prefix}{key}`{hint}; "
                f"known keys under `{where}`: {', '.join(fields)}"
            )
    kwargs = {}
    for name, f in fields.items():
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{path}: missing required key `{prefix}{name}`")
            continue
        kwargs[name] = _coerce(hints[name], raw[name], prefix + name, path, lines)
    try:
        return cls(**kwargs)
    except ConfigError as err:
        raise ConfigError(f"{path}{_at(lines, prefix)}: {err}") from None


def _coerce(tp: Any, value: Any, key: str, path: Path, lines: dict[str, int]) -> Any:
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key + ".", path, lines)
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            _wrong(key, value, f"a list of {item.__name__}", path, lines)
        return [_coerce(item, v, f"{key}[{i}]", path, lines) for i, v in enumerate(value)]
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"unsupported union in params schema at {key}")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        _wrong(key, value, tp.__name__, path, lines)
    if not isinstance(value, tp):
        _wrong(key, value, tp.__name__, path, lines)
    return value


def _wrong(key: str, value: Any, expected: str, path: Path, lines: dict[str, int]) -> None:
    raise ConfigError(
        f"{path}{_at(lines, key)}: `{key}` must be {expected}, got {type(value).__name__} "
        f"{value!r}; fix the value"
    )


def _key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            name = prefix + str(k.value)
            out[name] = k.start_mark.line + 1
            out.update(_key_lines(v, name + "."))
    return out


def _at(lines: dict[str, int], key: str) -> str:
    line = lines.get(key.rstrip("."))
    return f":{line}" if line else ""


def _close(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"`{key}: {value}` is not one of {', '.join(allowed)}")


def _positive(key: str, value: int) -> None:
    if value <= 0:
        raise ConfigError(f"`{key}` must be a positive integer, got {value}")


def _unit(key: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"`{key}` must lie in [0, 1], got {value}")
