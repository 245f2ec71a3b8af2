"""trl's SFTTrainer as `train_aft` runs it: the recipe from params, the speed from `run.yaml`.

The recipe (steps, batch of chats, learning rate, `max_length`, loss on the completion only) is
the same on every device. What `run.yaml` `training:` changes is only how fast a step runs:

- **padding-free batches** (`training.padding_free`, auto: on a GPU). trl's collator puts a
  batch's chats end to end in one row with `position_ids` restarting at every chat and no
  attention mask; transformers finds the chat boundaries from the restarts and keeps attention
  inside each chat (a block-causal mask for sdpa and flex attention, `cu_seq_lens` for varlen
  flash kernels), and the first token of each chat is no target, so no loss crosses chats. The
  batch is the same chats as a padded one and the loss is the same mean over the same completion
  tokens (`tests/training/test_sft_speed.py` checks it on SmolLM2), without a FLOP spent on
  padding. trl enforces `max_length` only on padded batches, so a dataset with a chat longer
  than `train_aft.max_length` keeps padded batches (auto) or is an error (always).
- **Liger kernels** (`training.liger`, auto: on a GPU with liger-kernel installed): trl 1.16
  applies Liger's RMSNorm, RoPE and SwiGLU kernels; it computes the loss itself through a fused
  LM head in chunks (the logits are never materialized), so Liger's fused cross-entropy is not
  used here.
- **attention** (`training.attention`, auto: sdpa, on a GPU too. Flex attention under trl
  recompiles for every new batch length: on an H200, 8 padding-free steps of Qwen2.5-1.5B did not
  finish in 130 s, where sdpa runs 12,900 tokens/s, `bench/RESULTS.md`), **gradient checkpointing**
  (`training.gradient_checkpointing`, on a GPU only: on the CPU it makes a step ~20x slower for
  no memory need) and **bf16** (on a GPU; never on the CPU, where trl's default bf16 is slow).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from trl import SFTConfig, SFTTrainer

from pipeline.config.params import TrainAftParams, TrainParams
from pipeline.config.run import TrainingSettings
from pipeline.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SftSpeed:
    cuda: bool
    padding_free: bool
    liger: bool
    attention: str
    bf16: bool
    gradient_checkpointing: bool


def liger_available() -> bool:
    return importlib.util.find_spec("liger_kernel") is not None


def sft_speed(
    settings: TrainingSettings, cuda: bool, longest_chat: int, max_length: int
) -> SftSpeed:
    """The speed measures for one run; `longest_chat`: tokens of the dataset's longest chat."""
    fits = longest_chat <= max_length
    padding_free = _resolve(settings.padding_free, cuda and fits, "padding_free")
    if padding_free and not fits:
        reason = "run.yaml `training.padding_free: always`"
        raise ConfigError(
            f"{reason}: a chat has {longest_chat} tokens, more than train_aft.max_length = "
            f"{max_length}, and trl truncates chats only in padded batches; raise "
            "train_aft.max_length or set training.padding_free: auto"
        )
    if settings.padding_free == "auto" and cuda and not fits:
        log.warning(
            "train_aft: a chat has %d tokens, more than train_aft.max_length = %d; trl truncates "
            "only padded batches, so this run pads (raise max_length for padding-free batches)",
            longest_chat,
            max_length,
        )
    liger = _resolve(settings.liger, cuda and liger_available(), "liger")
    if liger and not (cuda and liger_available()):
        raise ConfigError(
            "run.yaml `training.liger: always` needs a GPU and liger-kernel (the gpu extra); "
            "set training.liger: auto"
        )
    attention = settings.attention
    if attention == "auto":
        attention = "sdpa"  # flex recompiles per batch length under trl (module docstring)
    return SftSpeed(
        cuda=cuda,
        padding_free=padding_free,
        liger=liger,
        attention=attention,
        bf16=cuda,
        gradient_checkpointing=cuda and settings.gradient_checkpointing,
    )


def _resolve(setting: str, default: bool, what: str) -> bool:
    if setting == "auto":
        return default
    return setting == "always"


def training_arguments(tp: TrainParams, seed: int, out: str, speed: SftSpeed, **extra) -> dict:
    """Keyword arguments of trl's SFTConfig (a transformers TrainingArguments)."""
    return dict(
        output_dir=out,
        max_steps=tp.max_steps,
        per_device_train_batch_size=tp.batch_size,
        gradient_accumulation_steps=tp.grad_accum,
        learning_rate=tp.lr,
        lr_scheduler_type="cosine",
        warmup_steps=tp.warmup_ratio,  # a float below 1 is a ratio of max_steps
        weight_decay=tp.weight_decay,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=seed,
        data_seed=seed,
        use_cpu=not speed.cuda,
        bf16=speed.bf16,
        gradient_checkpointing=speed.gradient_checkpointing,
        dataloader_num_workers=0,
        disable_tqdm=True,
        **extra,
    )


def sft_trainer(
    model, tokenizer, dataset, tp: TrainAftParams, seed: int, out: str, speed: SftSpeed
) -> SFTTrainer:
    """trl's SFTTrainer on prompt/completion chats: the loss on the assistant turn only (the
    tokens after the chat template's generation prompt), one chat per sequence (never packed
    across chats into rows: the batch is the recipe's `batch_size` chats)."""
    config = SFTConfig(
        **training_arguments(tp, seed, out, speed),
        # padding-free: trl refuses a max_length it would not enforce; sft_speed checked that
        # every chat fits, so the padded run's truncation would be a no-op
        max_length=None if speed.padding_free else tp.max_length,
        completion_only_loss=True,
        packing=False,
        padding_free=speed.padding_free,
        use_liger_kernel=speed.liger,
    )
    return SFTTrainer(model=model, args=config, train_dataset=dataset, processing_class=tokenizer)
