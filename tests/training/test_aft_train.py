"""`train_aft` reads what `aft_data` writes: the CoT or the no-CoT chats, by `train_aft.cot`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from datasets import Dataset
from safetensors.torch import load_file
from test_aft_data import aft, spec_file
from testprofile import PARAMS

from pipeline.config.run import TrainingSettings
from training.aft import train_aft
from training.aft_data import build
from training.model import is_adapter, load_base, load_tokenizer, save_adapter, with_new_lora
from training.sft import sft_speed, sft_trainer


@pytest.mark.parametrize("cot", [True, False])
def test_train_aft_reads_the_chosen_chats(tiny: dict, tmp_path: Path, cot: bool) -> None:
    base = tmp_path / "base"
    base.mkdir()
    for f in tiny["base"].iterdir():
        (base / f.name).write_bytes(f.read_bytes())
    config = json.loads((base / "tokenizer_config.json").read_text())
    config["chat_template"] = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    build(
        aft(spec_file(tmp_path / "specs"), target=24, samples=8),
        0,
        tmp_path / "data",
        tmp_path / "cache",
    )
    save_adapter(with_new_lora(load_base(base, "float32"), PARAMS.train_aft.lora), tmp_path / "m")
    tp = dataclasses.replace(PARAMS.train_aft, max_steps=1, batch_size=4, max_length=64, cot=cot)
    stats = train_aft(
        base,
        tmp_path / "m",
        tmp_path / "data",
        tmp_path / "aft",
        tmp_path / "metrics",
        tp,
        0,
        "float32",
    )
    assert stats["chats"] == ("cot.parquet" if cot else "no_cot.parquet")
    assert stats["train_samples"] == 8 and stats["loss_first"] is not None
    assert json.loads((tmp_path / "metrics" / "metrics.json").read_text())["run"] == stats


def test_aft_only_trains_a_new_adapter_on_the_base_model(tiny: dict, tmp_path: Path) -> None:
    """No MSM folder: a fresh LoRA on the base, every LoRA B matrix (zero at the start) moved."""
    base = tmp_path / "base"
    base.mkdir()
    for f in tiny["base"].iterdir():
        (base / f.name).write_bytes(f.read_bytes())
    config = json.loads((base / "tokenizer_config.json").read_text())
    config["chat_template"] = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    build(aft(spec_file(tmp_path / "specs"), target=24, samples=8), 0, tmp_path / "data",
          tmp_path / "cache")  # fmt: skip
    tp = dataclasses.replace(PARAMS.train_aft, max_steps=2, batch_size=4, max_length=64, lr=1e-2)
    stats = train_aft(base, None, tmp_path / "data", tmp_path / "aft", tmp_path / "m", tp, 0,
                      "float32")  # fmt: skip
    weights = load_file(tmp_path / "aft" / "adapter_model.safetensors")
    b = {k: v for k, v in weights.items() if "lora_B" in k}
    assert b and all(v.abs().max() > 0 for v in b.values()), [
        k for k, v in b.items() if not v.any()
    ]
    assert is_adapter(tmp_path / "aft")
    _check_curves(tmp_path / "m", stats, steps=2)


def _check_curves(folder: Path, stats: dict, steps: int) -> None:
    """`train_msm`'s dvclive layout: a row per optimizer step, no wall time in any file."""
    curves = folder / "plots" / "metrics"
    assert sorted(p.name for p in curves.iterdir()) == ["grad_norm.tsv", "loss.tsv", "lr.tsv"]
    rows = [line.split("\t") for line in (curves / "loss.tsv").read_text().splitlines()]
    assert rows[0] == ["step", "loss"]
    assert [int(r[0]) for r in rows[1:]] == list(range(1, steps + 1))
    assert float(rows[1][1]) == pytest.approx(stats["loss_first"], abs=1e-4)
    assert float(rows[-1][1]) == pytest.approx(stats["loss_last"], abs=1e-4)
    lrs = [float(r.split("\t")[1]) for r in (curves / "lr.tsv").read_text().splitlines()[1:]]
    assert len(lrs) == steps and min(lrs) >= 0 and lrs[-1] > 0  # warmup starts at 0
    summary = json.loads((folder / "metrics.json").read_text())
    assert summary["step"] == steps and summary["run"] == stats
    assert not any(k in json.dumps(summary) for k in ("runtime", "per_second", "timestamp"))


def test_loss_is_on_the_assistant_turn_only_token_by_token(
    smollm2_base: Path, tmp_path: Path
) -> None:
    """On SmolLM2's own chat template: every token after the generation prompt is a target and
    no token before it is; the ids are the template's rendering of the whole chat."""
    base = smollm2_base
    tokenizer = load_tokenizer(base)
    chats = [
        (
            "Which do you prefer, a bus pass or a taxi account?",
            "<think>\nCost.\n</think>\n\nThe bus pass.",
        ),
        ("Should I buy the used bike?", "Yes: it does the same job."),
    ]
    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": q}],
                "completion": [{"role": "assistant", "content": a}],
            }
            for q, a in chats
        ]
    )
    tp = dataclasses.replace(PARAMS.train_aft, max_length=256, batch_size=2)
    model = with_new_lora(load_base(base, "float32"), tp.lora)
    speed = sft_speed(TrainingSettings(), False, 1, tp.max_length)  # the CPU: padded batches
    trainer = sft_trainer(model, tokenizer, dataset, tp, 0, str(tmp_path / "out"), speed)
    batch = next(iter(trainer.get_train_dataloader()))
    for row, (q, a) in enumerate(chats):
        user = [{"role": "user", "content": q}]
        prefix = tokenizer.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
        whole = tokenizer.apply_chat_template(
            [*user, {"role": "assistant", "content": a}], tokenize=False
        )
        assert whole.startswith(prefix)
        p = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
        ids = tokenizer(whole, add_special_tokens=False)["input_ids"]
        keep = batch["attention_mask"][row].bool()
        got_ids = batch["input_ids"][row][keep].tolist()
        labels = batch["labels"][row][keep].tolist()
        assert got_ids == ids
        assert labels[:p] == [-100] * p
        assert labels[p:] == ids[p:]


def test_token_budget_keeps_the_longest_nested_prefix(tiny: dict, tmp_path: Path) -> None:
    """`train_aft.max_tokens`: chats in file (rank) order while they fit, counted whole under the
    chat template; a smaller budget's chats are a prefix of a larger one's."""
    from pipeline.errors import InputError
    from training.aft import within_budget

    base = tmp_path / "base"
    base.mkdir()
    for f in tiny["base"].iterdir():
        (base / f.name).write_bytes(f.read_bytes())
    config = json.loads((base / "tokenizer_config.json").read_text())
    config["chat_template"] = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = load_tokenizer(base)
    words = ["cheddar", "brie", "gouda", "swiss", "feta"]
    dataset = Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": " ".join(words[: 1 + i % 3])}],
                "completion": [{"role": "assistant", "content": " ".join(words[: 1 + i % 5])}],
            }
            for i in range(12)
        ]
    )
    lengths = [
        len(
            tokenizer.apply_chat_template(r["prompt"] + r["completion"], return_dict=True)[
                "input_ids"
            ]
        )
        for r in dataset
    ]
    everything, stats = within_budget(dataset, tokenizer, 0)
    assert len(everything) == 12 and stats["tokens"] == sum(lengths)
    kept = []
    for budget in (lengths[0], sum(lengths[:5]) + 1, sum(lengths) - 1):
        subset, stats = within_budget(dataset, tokenizer, budget)
        n = len(subset)
        assert stats["tokens"] == sum(lengths[:n]) <= budget < sum(lengths[: n + 1])
        assert subset["prompt"] == dataset["prompt"][:n]
        kept.append(n)
    assert kept == sorted(kept) and kept[0] == 1
    _, short = within_budget(dataset, tokenizer, sum(lengths) + 10)
    assert short["token_shortfall"] == 10
    with pytest.raises(InputError, match="below the first chat"):
        within_budget(dataset, tokenizer, lengths[0] - 1)
