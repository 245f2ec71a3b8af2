"""`training.sft`: the speed measures of `train_aft` change how fast a step runs, not what it
computes. On the real SmolLM2 model and chat template, a padding-free batch (the chats end to end
in one row) gives the padded batch's loss on the same chats, over the same completion tokens."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from datasets import Dataset
from testprofile import PARAMS

from pipeline.config.run import TrainingSettings
from pipeline.errors import ConfigError
from training.aft import chat_lengths
from training.model import load_base, load_tokenizer, with_new_lora
from training.sft import liger_available, sft_speed, sft_trainer

CHATS = [
    ("Which do you prefer, a bus pass or a taxi account?", "<think>\nCost.\n</think>\n\nBus."),
    ("Should I buy the used bike?", "Yes: it does the same job for a third of the price."),
    ("Tea or coffee before an exam?", "<think>\nSleep matters more.\n</think>\n\nTea."),
    ("Is a paper map still worth carrying on a long hike in the hills?", "Yes."),
]


def test_padding_free_batch_gives_the_padded_loss(smollm2_base: Path, tmp_path: Path) -> None:
    base = smollm2_base
    tokenizer = load_tokenizer(base)
    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": q}],
                "completion": [{"role": "assistant", "content": a}],
            }
            for q, a in CHATS
        ]
    )
    lengths = chat_lengths(dataset, tokenizer)
    assert len(set(lengths)) == len(lengths)  # unequal lengths: the padded batch has padding
    tp = dataclasses.replace(PARAMS.train_aft, max_length=256, batch_size=len(CHATS))
    got = {}
    for mode in ("never", "always"):
        speed = sft_speed(TrainingSettings(padding_free=mode), False, max(lengths), tp.max_length)
        assert speed.padding_free == (mode == "always") and not speed.bf16
        model = with_new_lora(load_base(base, "float32", speed.attention), tp.lora)
        trainer = sft_trainer(model, tokenizer, dataset, tp, 0, str(tmp_path / mode), speed)
        batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
        model.eval()  # no dropout: the two forwards must see the same function
        with torch.no_grad():
            loss = trainer.compute_loss(model, batch).item()
        got[mode] = (batch, loss)
    padded, flat = got["never"][0], got["always"][0]
    assert padded["input_ids"].shape[0] == len(CHATS) and "attention_mask" in padded
    assert flat["input_ids"].shape == (1, sum(lengths)) and "attention_mask" not in flat
    assert (flat["position_ids"][0] == 0).sum() == len(CHATS)  # positions restart per chat
    # the same targets: the padded rows' unmasked tokens and labels, chat by chat, in one row
    rows = [padded["labels"][i][padded["attention_mask"][i].bool()] for i in range(len(CHATS))]
    assert torch.equal(torch.cat(rows), flat["labels"][0])
    assert (flat["labels"] != -100).sum() > 0
    assert got["always"][1] == pytest.approx(got["never"][1], rel=1e-5, abs=1e-5)


def test_speed_measures_by_device_and_setting() -> None:
    auto = TrainingSettings(gradient_checkpointing=True)
    cpu = sft_speed(auto, False, 100, 256)
    assert not (cpu.padding_free or cpu.bf16 or cpu.gradient_checkpointing or cpu.liger)
    assert cpu.attention == "sdpa"
    gpu = sft_speed(auto, True, 100, 256)
    assert gpu.padding_free and gpu.bf16 and gpu.gradient_checkpointing
    assert gpu.attention == "sdpa" and gpu.liger == liger_available()
    too_long = sft_speed(auto, True, 300, 256)  # trl truncates only padded batches
    assert not too_long.padding_free and too_long.attention == "sdpa"
    with pytest.raises(ConfigError, match=r"train_aft\.max_length"):
        sft_speed(TrainingSettings(padding_free="always"), True, 300, 256)
    assert not sft_speed(TrainingSettings(padding_free="never"), True, 100, 256).padding_free
    with pytest.raises(ConfigError, match="needs a GPU and liger-kernel"):
        sft_speed(TrainingSettings(liger="always"), False, 100, 256)
    if not liger_available():
        with pytest.raises(ConfigError, match="needs a GPU and liger-kernel"):
            sft_speed(TrainingSettings(liger="always"), True, 100, 256)
