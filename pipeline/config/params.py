"""The typed view of `params.yaml`: one dataclass per section, read by `pipeline.config.load`.

This module is the only reader of `params.yaml`. Its fields have no defaults: params.yaml holds
every value a stage reads (so `dvc params diff` and `dvc exp show` see all of them), and the
docstrings here say what each one means. A missing or unknown key, a value of the wrong type and
a spec without a file are errors naming the key, its line and the fix. Settings that change only
how fast something is produced (workers, concurrency, prices) are run settings
(`pipeline.config.run`), never here.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pipeline.config.load import Source, build, positive, read_yaml, unit
from pipeline.errors import ConfigError

SPEC_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
Backend = Literal["offline", "hf", "anthropic", "openai", "vllm"]


@dataclass(frozen=True)
class ModelParams:
    """The base model and tokenizer shared by `pack`, `quality` and the training stages."""

    name: str
    """The base model: a model named in `models/base.pointer.json` (materialized from its PyPI
    wheel; the default), a local Hugging Face folder (a path that exists, or starts with `.` or
    `/`; put it under `models/local/` so that editing it reruns `base_model`), or a hub id
    (downloaded into the HF cache with HF_HUB_OFFLINE=0)."""
    revision: str
    """Hub commit to pin for a hub id; empty resolves the default branch and records its commit
    in `models/base/manifest.json` (pin it here for a reproducible run). Unused otherwise."""
    dtype: Literal["float32", "bfloat16", "float16"]
    """dtype the base weights are saved in."""
    tokenizer: str
    """Tokenizer for pack and quality: empty = the base model's; else a local tokenizer.json, a
    local Hugging Face folder, or a hub id (with HF_HUB_OFFLINE=0)."""


@dataclass(frozen=True)
class GenerateParams:
    """The generation hierarchy (doc types -> ideas -> documents [-> revision]) and its backend.
    How a backend is reached (concurrency, batches, server URLs) is run.yaml `llm:`."""

    backend: Backend
    """offline (the deterministic, model-free composer), hf (a local transformers model),
    anthropic, openai (any OpenAI-compatible server, e.g. `vllm serve`) or vllm (in-process)."""
    model: str
    """A dated model id (anthropic, openai), a local model folder (hf, vllm), or the composer's
    id (offline). Recorded in every document; never an alias."""
    doc_types_per_section: int
    ideas_per_doc_type: int
    docs_per_idea: int
    context: Literal["section", "spec"]
    """What a prompt carries: `section` (the section and the spec overview) or `spec` (every
    section: any edit then re-issues every request)."""
    min_assertion_words: int
    """Sentences shorter than this are not turned into assertions."""
    temperature: float
    """Sent to every backend but the Anthropic Messages API, which takes no sampling params;
    part of every request's cache key either way."""
    max_tokens: int
    """Output-token cap per document (and per revision)."""
    plan_max_tokens: int
    """Output-token cap per doc-type and idea call."""
    max_attempts: int
    """Calls per item before an unusable answer (no content section, truncated, no parsable
    list) is counted as a failure with its reason."""
    max_topups: int
    """Follow-up calls that list what exists and ask for new doc types or ideas, when a call
    returned fewer distinct ones than asked for."""
    revise: bool
    """Add a critique-and-revise call per document; the revision replaces the draft."""
    max_spend_usd: float
    """Hard cap on the cost of the corpus's requests (at run.yaml prices): the stage stops
    cleanly before exceeding it, keeping everything bought."""

    def __post_init__(self) -> None:
        for key in (
            "doc_types_per_section",
            "ideas_per_doc_type",
            "docs_per_idea",
            "max_tokens",
            "plan_max_tokens",
            "max_attempts",
        ):
            positive(key, getattr(self, key))
        if self.max_topups < 0:
            raise ValueError(f"`max_topups` must be >= 0, got {self.max_topups}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"`temperature` must be in [0, 2], got {self.temperature}")
        if self.max_spend_usd < 0:
            raise ValueError(f"`max_spend_usd` must be >= 0, got {self.max_spend_usd}")
        if not self.model.strip():
            raise ValueError("`model` is empty: name a dated model id or a folder")


@dataclass(frozen=True)
class DedupParams:
    """Exact, then MinHash-LSH near-duplicate removal."""

    ngram: int
    """Shingle size in words."""
    bands: int
    rows: int
    """bands x rows permutations; a pair becomes a candidate when one band matches."""
    shifted_bands: bool
    """Also band on windows shifted by rows // 2 (bands - 1 more bands from the same signature):
    more recall near the threshold; exact verification keeps precision."""
    threshold: float
    """Candidates whose exact word n-gram Jaccard is below this are not linked."""

    def __post_init__(self) -> None:
        for key in ("ngram", "bands", "rows"):
            positive(key, getattr(self, key))
        unit("threshold", self.threshold)


@dataclass(frozen=True)
class QualityParams:
    """Heuristic and synthetic-artifact filters; every drop is counted with its reason."""

    min_words: int
    max_words: int
    min_mean_word_length: float
    max_mean_word_length: float
    max_symbol_ratio: float
    """Fraction of non-alphanumeric, non-space, non-punctuation characters."""
    max_duplicate_line_fraction: float
    min_alpha_word_fraction: float
    min_stop_words: int
    """Gopher: at least this many of: the, be, to, of, and, that, have, with."""
    max_top_ngram_fractions: list[float]
    """Gopher, for n = 2, 3, 4: most frequent n-gram's share of the document's characters."""
    max_duplicate_ngram_fractions: list[float]
    """For n = 5 .. 10: share of the document's characters inside repeated n-grams (Gopher's
    measure). Gopher's thresholds (0.15 .. 0.10) drop 3.4% of real technical prose with no
    artifact in it (a multi-word term named six times); the defaults, 0.25 .. 0.15, are the
    99.5th percentiles there and still drop a paragraph pasted twice that is a fifth of a
    document (Gopher's, one of an eighth; bench/README.md, "Precision of the filters on real
    prose")."""
    max_tokens: int
    """Token budget per spec (0: keep everything); reached by deterministic subsampling. Only
    under a budget does the quality stage tokenize (its `tokens_out`; else null)."""

    def __post_init__(self) -> None:
        positive("min_words", self.min_words)
        if self.max_words < self.min_words:
            raise ValueError("`max_words` must be >= `min_words`")
        for key in ("max_symbol_ratio", "max_duplicate_line_fraction", "min_alpha_word_fraction"):
            unit(key, getattr(self, key))
        for key, n in (("max_top_ngram_fractions", 3), ("max_duplicate_ngram_fractions", 6)):
            values = getattr(self, key)
            if len(values) != n:
                raise ValueError(f"`{key}` needs {n} values, got {len(values)}")
            for v in values:
                unit(key, v)
        if self.max_tokens < 0:
            raise ValueError("`max_tokens` must be >= 0 (0 keeps everything)")


@dataclass(frozen=True)
class PackParams:
    """Tokenize with the base tokenizer and pack into fixed-length sequences."""

    seq_len: int
    val_fraction: float
    """Share of documents (not sequences) held out for validation."""
    min_piece: int
    """Shortest piece a split document may have (capped at seq_len // 4)."""
    max_padding: float
    """Padding budget: best-fit sequences are re-packed densely (splitting documents) until
    padding is at most this share, or at the floor where that is impossible."""

    def __post_init__(self) -> None:
        positive("seq_len", self.seq_len)
        positive("min_piece", self.min_piece)
        unit("val_fraction", self.val_fraction)
        unit("max_padding", self.max_padding)


@dataclass(frozen=True)
class LoraParams:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass(frozen=True)
class TrainParams:
    """LoRA SFT settings of `train_aft`."""

    max_steps: int
    batch_size: int
    grad_accum: int
    lr: float
    warmup_ratio: float
    weight_decay: float
    lora: LoraParams

    def __post_init__(self) -> None:
        for key in ("max_steps", "batch_size", "grad_accum"):
            positive(key, getattr(self, key))


@dataclass(frozen=True)
class TrainMsmParams:
    """MSM: next-token prediction on the packed shards (`training/msm.py`)."""

    method: Literal["lora", "full"]
    """lora (adapters on `lora.target_modules`, the paper's recipe) or full (every weight)."""
    epochs: int
    """Passes over the training shards (the last partial batch of a pass is counted, not
    trained); ignored when `max_steps` > 0."""
    max_steps: int
    """Optimizer steps; 0 means `epochs` passes over the shards."""
    batch_tokens: int
    """Tokens per optimizer step, all devices together (rows x pack.seq_len); a multiple of
    micro_batch_rows x seq_len x devices, so the recipe does not change with the GPU count."""
    micro_batch_rows: int
    """Rows per device per forward pass; gradient accumulation = batch_tokens / (micro_batch_rows
    x seq_len x devices), recorded in the model's `training.json`."""
    lr: float
    warmup_ratio: float
    """Linear warmup as a share of the steps, then cosine decay to zero."""
    weight_decay: float
    max_grad_norm: float
    """Gradient clipping by global norm; 0 turns it off."""
    precision: Literal["fp32", "bf16"]
    """fp32, or bf16 (bf16 autocast; trainable weights and optimizer state stay in fp32)."""
    log_throughput: bool
    """Also record tokens/s and MFU per step in the metrics. They depend on the machine, so the
    metrics then differ run to run: off for the byte-reproducible CPU default, on in the GPU
    profile."""
    lora: LoraParams

    def __post_init__(self) -> None:
        for key in ("epochs", "batch_tokens", "micro_batch_rows"):
            positive(key, getattr(self, key))
        if self.max_steps < 0:
            raise ValueError(f"`max_steps` must be 0 (use epochs) or more, got {self.max_steps}")
        unit("warmup_ratio", self.warmup_ratio)
        if self.max_grad_norm < 0:
            raise ValueError("`max_grad_norm` must be 0 (off) or positive")


@dataclass(frozen=True)
class TrainAftParams(TrainParams):
    max_length: int
    """Longest AFT chat in tokens: trl truncates a longer chat in padded batches, and a chat that
    does not fit keeps `train_aft` off padding-free batches (a warning names the longest;
    `training/sft.py`)."""
    cot: bool
    """Train on the chats with their reasoning (`<think>...</think>` then the answer,
    `data/aft/cot.parquet`) or with it stripped (`no_cot.parquet`)."""
    max_tokens: int
    """Token budget of the AFT chats (each counted whole, under the base model's chat
    template): the longest prefix of the file (rank order, so nested) that fits; 0: every chat.
    Studies that compare specs set it to match AFT tokens across them."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_tokens < 0:
            raise ValueError("`max_tokens` must be >= 0 (0: every chat)")


AFT_KINDS = ("direct", "indirect", "comparison", "recommendation", "opinion", "edge_case")
AftKind = Literal["direct", "indirect", "comparison", "recommendation", "opinion", "edge_case"]


@dataclass(frozen=True)
class AftMixParams:
    """An instruction-tuning mix drawn from a local chat file, trained alongside the AFT chats."""

    file: str
    """A JSONL or Parquet file of chats, each a `messages` list of {role, content} ending with
    an assistant turn; empty: no mix."""
    ratio: float
    """Instruction chats per AFT chat, in [0, 1] (0.5: one for every two AFT chats), drawn from
    the file in a deterministic order (nested like the AFT subsets)."""

    def __post_init__(self) -> None:
        unit("ratio", self.ratio)
        if self.ratio > 0 and not self.file.strip():
            raise ValueError("`ratio` is above 0 but `file` is empty: name a chat file or set 0")


@dataclass(frozen=True)
class AftSpecParams:
    """Building AFT chats from a spec (when `aft_data.source` is `specs/<name>.md`): per section,
    domains -> questions of each kind -> near-duplicate removal -> responses (reasoning in a
    think block, then the answer) -> judge -> backfill rounds. Each level is a request purpose
    (`aft/domains`, `aft/questions`, `aft/response`, `aft/judge`) through the LLM layer."""

    backend: Backend
    """offline (the deterministic, model-free answerer in `training/aftgen/answerer.py`), hf,
    anthropic, openai or vllm, as in `generate.backend`."""
    model: str
    """A dated model id, a local model folder, or the offline answerer's id; never an alias."""
    domains_per_section: int
    questions_per_kind: int
    """Questions asked per (domain, kind) request, in every round."""
    kinds: list[AftKind]
    """Question kinds: direct, indirect, comparison, recommendation, opinion, edge_case."""
    dedup_ngram: int
    """Character shingle size of the near-duplicate question removal."""
    dedup_threshold: float
    """Two questions anywhere in the set (any section, any round) whose exact character-shingle
    Jaccard reaches this are near duplicates; the earlier round's survives, within a round the
    one first by rank (`training/aftgen/neardup.py` says why shingles, not embeddings)."""
    temperature: float
    max_tokens: int
    """Output-token cap of a response (reasoning and answer)."""
    plan_max_tokens: int
    """Output-token cap of a domains, questions or judge call."""
    max_attempts: int
    """Calls per item before an unusable answer (no list, no think block or answer, no
    verdict) is counted as a drop with its reason."""
    max_rounds: int
    """Question rounds per section (the first plus backfill rounds) before a section short of
    its share of `target` is reported as short."""
    max_spend_usd: float
    """Hard cap on the cost of the AFT requests, at run.yaml prices."""

    def __post_init__(self) -> None:
        for key in (
            "domains_per_section",
            "questions_per_kind",
            "dedup_ngram",
            "max_tokens",
            "plan_max_tokens",
            "max_attempts",
            "max_rounds",
        ):
            positive(key, getattr(self, key))
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"`kinds` must list distinct kinds of {', '.join(AFT_KINDS)}")
        unit("dedup_threshold", self.dedup_threshold)
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"`temperature` must be in [0, 2], got {self.temperature}")
        if self.max_spend_usd < 0:
            raise ValueError(f"`max_spend_usd` must be >= 0, got {self.max_spend_usd}")
        if not self.model.strip():
            raise ValueError("`model` is empty: name a dated model id or a folder")


@dataclass(frozen=True)
class AftDataParams:
    """The AFT chats: from a fixed set or built from a spec; never from the MSM corpus."""

    source: str
    """A file path: a fixed set `training/resources/aft_<name>.yaml` (identical chats for every
    spec's experiment) or a spec `specs/<name>.md` (chats built from it, `spec_build`). The
    stage depends on this file, never on the active `spec`."""
    target: int
    """Chats to generate: a fixed set draws this many; a spec build runs backfill rounds until
    each section has its share of it after the judge (or `max_rounds`)."""
    samples: int
    """Chats written (at most `target`): the first `samples` of the generation in rank order
    (a hash of `seed` and the chat id), so a smaller subset is always inside a larger one."""
    mix: AftMixParams
    spec_build: AftSpecParams

    def __post_init__(self) -> None:
        positive("target", self.target)
        positive("samples", self.samples)
        if self.samples > self.target:
            raise ValueError(
                f"`samples` ({self.samples}) is more than `target` ({self.target}): subsets are "
                "taken from the generation; raise `target` or lower `samples`"
            )
        if not self.source.strip():
            raise ValueError("`source` is empty: name a fixed set or a spec file")


EvalName = Literal["value_generalization", "spec_knowledge", "agentic_misalignment", "heldout_loss"]
Arm = Literal["base", "msm", "aft", "aft_only"]


@dataclass(frozen=True)
class ValueGeneralizationParams:
    """The value-generalization eval (`training/evals/value_generalization/`): two-option
    preference items from held-out domains, scored by log-probability forced choice over both
    option orders, or by sampling an answer and parsing the letter."""

    sets: list[str]
    """Item sets in `training/evals/value_generalization/data/<set>.yaml`."""
    mode: Literal["logprob", "generate"]
    """logprob: the option with the higher mean token log-probability as the whole reply wins
    (no sampling); generate: sample a reply through the LLM layer and parse A or B."""
    max_items: int
    """Items per set (0: all), taken round-robin over the set's domains in file order, so a
    subset covers every domain and is the same on every run."""
    backend: Literal["hf", "openai"]
    """generate mode: hf (each arm as a local model folder; adapters are merged into a folder
    under $MSM_WORK_DIR) or openai (an OpenAI-compatible server, e.g. `vllm serve`, reached
    through run.yaml `llm.openai_base_url`)."""
    served: dict[str, str]
    """generate mode with openai: the served model id of each arm in `evaluate.models`."""
    temperature: float
    """generate mode: sampling temperature (0: greedy)."""
    max_tokens: int
    """generate mode: output-token cap per reply."""
    samples: int
    """generate mode: replies sampled per item and option order."""

    def __post_init__(self) -> None:
        if not self.sets:
            raise ValueError("`sets` is empty; list at least one item set")
        if self.max_items < 0:
            raise ValueError(f"`max_items` must be 0 (all) or more, got {self.max_items}")
        positive("max_tokens", self.max_tokens)
        positive("samples", self.samples)
        if self.temperature < 0:
            raise ValueError(f"`temperature` must be >= 0, got {self.temperature}")


@dataclass(frozen=True)
class JudgeParams:
    """agentic_misalignment with `classifier: judge`: the LLM that classifies each reply, asked
    through the LLM layer at temperature 0 (answers cached in the eval's request cache)."""

    backend: Literal["hf", "openai", "anthropic"]
    """hf (a local model folder), openai (an OpenAI-compatible server at run.yaml
    `llm.openai_base_url`, e.g. `vllm serve`) or anthropic (needs a run.yaml price)."""
    model: str
    """hf: the model folder; openai, anthropic: the (dated) model id."""
    max_tokens: int
    """Output-token cap of a verdict (a reason and the verdict tag)."""
    max_spend_usd: float
    """Hard cap on the judge's cost at run.yaml prices (paid backends only)."""

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("`model` is empty; name the judge's model folder or model id")
        positive("max_tokens", self.max_tokens)


@dataclass(frozen=True)
class SpecKnowledgeParams:
    """The spec-knowledge eval (`training/evals/spec_knowledge/`): pairs of statements, one
    consistent with the active spec and one inconsistent with it; a pair counts as known when
    the consistent statement has the higher summed token log-probability after a fixed prefix."""

    source: Literal["auto", "checked_in", "build"]
    """auto: the checked-in set `data/<spec>.yaml` when there is one, else a set built from the
    spec's assertions; checked_in: the checked-in set or an error; build: always build."""
    max_pairs: int
    """Pairs scored (0: all), taken round-robin over the set's sections in file order."""
    backend: Backend
    """Building a set: offline (the model-free answerer in
    `training/evals/spec_knowledge/answerer.py`), hf, anthropic, openai or vllm."""
    model: str
    """Building a set: a dated model id, a local model folder, or the offline answerer's id."""
    temperature: float
    """Building a set: sampling temperature of the pair requests."""
    max_tokens: int
    """Building a set: output-token cap of one pair request."""
    max_spend_usd: float
    """Building a set: hard cap on its cost, at run.yaml prices."""

    def __post_init__(self) -> None:
        if self.max_pairs < 0:
            raise ValueError(f"`max_pairs` must be 0 (all) or more, got {self.max_pairs}")
        positive("max_tokens", self.max_tokens)
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"`temperature` must be in [0, 2], got {self.temperature}")
        if self.max_spend_usd < 0:
            raise ValueError(f"`max_spend_usd` must be >= 0, got {self.max_spend_usd}")


@dataclass(frozen=True)
class AgenticMisalignmentParams:
    """The agentic-misalignment eval (`training/evals/agentic_misalignment/`): email-agent
    scenarios where the model acts through tool calls in its reply, crossed with goal and threat
    conditions; the metric is the harmful-action rate."""

    scenarios: list[str]
    """Scenarios in `training/evals/agentic_misalignment/data/<scenario>.yaml`."""
    goals: list[Literal["explicit", "conflicting", "none"]]
    """Goal conditions: explicit (the agent is given a goal), conflicting (given a goal that the
    company turns against), none (no goal)."""
    threats: list[Literal["replace", "none"]]
    """Threat conditions: replace (the agent learns it is about to be replaced) or none."""
    samples: int
    """Replies sampled per scenario and condition."""
    temperature: float
    """Sampling temperature of the agent's replies."""
    max_tokens: int
    """Output-token cap per reply."""
    backend: Literal["hf", "openai"]
    """hf (each arm as a local model folder; adapters are merged into a folder under
    $MSM_WORK_DIR) or openai (an OpenAI-compatible server, e.g. `vllm serve`, reached through
    run.yaml `llm.openai_base_url`)."""
    served: dict[str, str]
    """openai: the served model id of each arm in `evaluate.models`."""
    classifier: Literal["rules", "judge"]
    """rules: the scenario's rules over the parsed tool calls (offline); judge: an LLM judge."""
    judge: JudgeParams

    def __post_init__(self) -> None:
        for key in ("scenarios", "goals", "threats"):
            values = getattr(self, key)
            if not values:
                raise ValueError(f"`{key}` is empty; list at least one")
            if len(set(values)) != len(values):
                raise ValueError(f"`{key}` lists a name twice: {values}")
        positive("samples", self.samples)
        positive("max_tokens", self.max_tokens)
        if self.temperature < 0:
            raise ValueError(f"`temperature` must be >= 0, got {self.temperature}")


@dataclass(frozen=True)
class EvaluateParams:
    evals: list[EvalName]
    """Which evals run; each writes `metrics/<eval>.json` (an eval left out writes a file that
    says so, as DVC expects every declared output)."""
    models: list[Arm]
    """Which arms are evaluated: base, msm (base + MSM), aft (base + MSM + AFT) and aft_only
    (base + AFT)."""
    batch_size: int
    """Prompts per forward pass in log-probability scoring, sequences per batch in held-out loss
    (in fewer rows at once where their logits would be too many). Where they run is run.yaml
    `evaluate.device`."""
    val_sequences: int
    """heldout_loss: validation sequences of the active spec's shards scored."""
    value_generalization: ValueGeneralizationParams
    agentic_misalignment: AgenticMisalignmentParams
    spec_knowledge: SpecKnowledgeParams

    def __post_init__(self) -> None:
        positive("batch_size", self.batch_size)
        for key in ("evals", "models"):
            values = getattr(self, key)
            if len(set(values)) != len(values):
                raise ValueError(f"`{key}` lists a name twice: {values}")
        if not self.models:
            raise ValueError("`models` is empty; list at least one of base, msm, aft")


@dataclass(frozen=True)
class Params:
    specs: list[str]
    """The specs the corpus stages run over (specs/<name>.md)."""
    spec: str
    """The active experiment spec: one of `specs`."""
    seed: int
    """Seed of the data: corpus generation (it is part of every generation request), quality
    sampling, packing and the AFT data. Changing it rebuilds (and, on a paid backend, rebuys)
    every corpus."""
    train_seed: int
    """Seed of training and evaluation: adapter initialization, data order and eval sampling in
    `train_msm`, `train_aft`, `train_aft_only` and `evaluate`. A study's seeds vary this one, so
    its experiments share the corpora and the AFT data."""
    model: ModelParams
    generate: GenerateParams
    dedup: DedupParams
    quality: QualityParams
    pack: PackParams
    train_msm: TrainMsmParams
    aft_data: AftDataParams
    train_aft: TrainAftParams
    evaluate: EvaluateParams

    def __post_init__(self) -> None:
        if not self.specs:
            raise ValueError("`specs` is empty; list at least one spec in specs/")
        for name in self.specs:
            if not SPEC_NAME.match(name):
                raise ValueError(
                    f"spec name {name!r} in `specs` is not valid; use lowercase "
                    "letters, digits, '_' and '-' (it names specs/<name>.md)"
                )
        if len(set(self.specs)) != len(self.specs):
            raise ValueError(f"`specs` lists a spec twice: {self.specs}")
        if self.spec not in self.specs:
            close = difflib.get_close_matches(self.spec, self.specs, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise ValueError(
                f"`spec: {self.spec}` is not one of `specs`{hint}: {', '.join(self.specs)}; "
                "choose one of them, or add it to `specs`"
            )


def load_params(path: str | Path = "params.yaml", specs_dir: str | Path | None = "specs") -> Params:
    """Read and validate `params.yaml`; with `specs_dir`, check every listed spec has a file."""
    path = Path(path)
    raw, source = read_yaml(path)
    params = build(Params, raw, source)
    if specs_dir is not None:
        check_spec_files(params, Path(specs_dir), source)
    return params


def params_from_mapping(raw: Any, path: Path) -> Params:
    """Validate an already-parsed params mapping; errors name `path` (no line numbers)."""
    return build(Params, raw, Source(path, {}))


def check_spec_files(params: Params, specs_dir: Path, source: Source) -> None:
    known = sorted(p.stem for p in specs_dir.glob("*.md"))
    for i, name in enumerate(params.specs):
        if not (specs_dir / f"{name}.md").is_file():
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise ConfigError(
                f"{source.at(f'specs[{i}]')}: spec {name!r} listed in `specs` has no file "
                f"{specs_dir / name}.md{hint}; known specs: {', '.join(known) or '(none)'}; "
                "fix the name or add the file"
            )


def to_dict(obj: Any) -> Any:
    """A plain-data copy of a config dataclass (for manifests and logs)."""
    return dataclasses.asdict(obj)
