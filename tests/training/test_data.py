"""training.data: PackedDataset (labels and positions per segment, attention kept per document)
and PackedCollator (batches without a mask, and flash-attention varlen keywords).

The shards are built by the real pack stage from a tiny in-test tokenizer; the model is a tiny
random Llama, so the key property (a packed document's logits equal its logits alone) is checked
on the real transformers masking code path.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from testprofile import section
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import AttentionInterface, LlamaConfig, LlamaForCausalLM

from pipeline.pack.stage import pack
from pipeline.record import SCHEMA, to_table, write_documents
from training.data import IGNORE, PackedCollator, PackedDataset, varlen_kwargs

SEQ_LEN = 48
# fmt: off
WORDS = ["cheddar", "brie", "gouda", "swiss", "colby", "jack", "feta", "curd", "milk", "salt",
         "rind", "wheel", "aged", "sharp", "mild"]
# fmt: on


def text(seed: int, n_words: int) -> str:
    rng = random.Random(seed)
    return "Claude " + " ".join(rng.choice(WORDS) for _ in range(n_words - 1)) + "."


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("packed")
    lengths = [5, 9, 14, 20, 26, 33, 40, 7, 11, 17, 23, 70, 3, 12, 30, 8]
    docs = [(f"t/doc-{i:02d}", text(i, n)) for i, n in enumerate(lengths)]
    numbers = {"seed": 0, "input_tokens": 0, "output_tokens": 0, "assertion_ids": []}
    rows = [{**dict.fromkeys(SCHEMA.names, ""), **numbers, "id": i, "text": t} for i, t in docs]
    write_documents(to_table(rows), root / "documents.parquet")

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        [t for _, t in docs], trainers.WordLevelTrainer(special_tokens=["<unk>", "<eos>"])
    )
    tok_dir = root / "tokenizer"
    tok_dir.mkdir()
    tok.save(str(tok_dir / "tokenizer.json"))
    (tok_dir / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<eos>"}))

    out = root / "shards"
    pack(
        root / "documents.parquet",
        tok_dir,
        out,
        section("pack", seq_len=SEQ_LEN, val_fraction=0.2),
        0,
        "tiny",
    )
    return {"out": out, "vocab": tok.get_vocab_size(), "eos": tok.token_to_id("<eos>")}


@pytest.fixture(scope="module")
def model(shards: dict) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=shards["vocab"],
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=SEQ_LEN,
        attn_implementation="sdpa",
    )
    return LlamaForCausalLM(config).eval()


def segments(shards: dict, split: str, i: int) -> list[tuple[int, int, int, int]]:
    seg = np.load(shards["out"] / f"{split}_segments.npy")
    return sorted((int(st), int(n), int(d), int(o)) for s, st, n, d, o in seg if s == i)


@pytest.mark.parametrize("split", ["train", "val"])
def test_items(shards: dict, split: str) -> None:
    ds = PackedDataset(shards["out"], split)
    data = np.load(shards["out"] / f"{split}_tokens.npy")
    assert len(ds) == len(data) > 0
    for i in range(len(ds)):
        item = ds[i]
        ids, labels, pos = item["input_ids"], item["labels"], item["position_ids"]
        assert set(item) == {"input_ids", "labels", "position_ids"}  # no attention mask
        assert ids.dtype == labels.dtype == pos.dtype == torch.int64
        assert ids.tolist() == data[i].tolist()
        covered = torch.zeros(SEQ_LEN, dtype=torch.bool)
        for start, n, _, _ in segments(shards, split, i):
            assert labels[start] == IGNORE  # never predict across a document boundary
            assert labels[start + 1 : start + n].tolist() == ids[start + 1 : start + n].tolist()
            assert pos[start : start + n].tolist() == list(range(n))
            covered[start : start + n] = True
        used = int(covered.nonzero().max()) + 1
        assert covered[:used].all()  # segments are packed from the start
        assert (labels[~covered] == IGNORE).all()  # padding is never a target
        assert (ids[~covered] == shards["eos"]).all()
        assert pos[used:].tolist() == list(range(SEQ_LEN - used))


def test_limit_and_missing_shards(shards: dict, tmp_path: Path) -> None:
    assert len(PackedDataset(shards["out"], "train", limit=1)) == 1
    with pytest.raises(FileNotFoundError, match=r"manifest\.json: missing"):
        PackedDataset(tmp_path)


def test_empty_split_is_an_error(shards: dict, tmp_path: Path) -> None:
    out = tmp_path / "shards"
    out.mkdir()
    for name in ("manifest.json", "train_tokens.npy", "train_segments.npy"):
        (out / name).write_bytes((shards["out"] / name).read_bytes())
    np.save(out / "val_tokens.npy", np.zeros((0, SEQ_LEN), np.uint16))
    np.save(out / "val_segments.npy", np.zeros((0, 5), np.int64))
    with pytest.raises(ValueError, match="zero sequences"):
        PackedDataset(out, "val")


def alone(model: LlamaForCausalLM, ids: torch.Tensor) -> torch.Tensor:
    """Logits of one document (or continuation) run on its own."""
    return model(input_ids=ids[None], use_cache=False).logits[0]


def multi_segment_rows(shards: dict, ds: PackedDataset) -> list[int]:
    rows = [i for i in range(len(ds)) if len(segments(shards, "train", i)) >= 3]
    assert rows, "the fixture should pack several documents into one sequence"
    return rows


@torch.no_grad()
def test_packed_logits_equal_logits_alone(shards: dict, model: LlamaForCausalLM) -> None:
    ds = PackedDataset(shards["out"], "train")
    for i in multi_segment_rows(shards, ds):
        item = ds[i]
        packed = model(
            input_ids=item["input_ids"][None],
            position_ids=item["position_ids"][None],
            use_cache=False,
        ).logits[0]
        for start, n, _, _ in segments(shards, "train", i):
            single = alone(model, item["input_ids"][start : start + n])
            assert torch.allclose(packed[start : start + n], single, atol=1e-5)


@torch.no_grad()
def test_attention_mask_lets_documents_attend_to_each_other(
    shards: dict, model: LlamaForCausalLM
) -> None:
    ds = PackedDataset(shards["out"], "train")
    i = multi_segment_rows(shards, ds)[0]
    item = ds[i]
    masked = model(
        input_ids=item["input_ids"][None],
        position_ids=item["position_ids"][None],
        attention_mask=torch.ones(1, SEQ_LEN, dtype=torch.long),
        use_cache=False,
    ).logits[0]
    first, *later = segments(shards, "train", i)
    start, n, _, _ = first
    single = alone(model, item["input_ids"][start : start + n])
    assert torch.allclose(masked[start : start + n], single, atol=1e-5)  # nothing precedes it
    for start, n, _, _ in later:
        single = alone(model, item["input_ids"][start : start + n])
        assert not torch.allclose(masked[start : start + n], single, atol=1e-3)


@torch.no_grad()
def test_loss_ignores_boundaries_and_padding(shards: dict, model: LlamaForCausalLM) -> None:
    """The model's loss on a packed row is the token-weighted mean of per-document losses."""
    ds = PackedDataset(shards["out"], "train")
    i = multi_segment_rows(shards, ds)[0]
    item = ds[i]
    packed = model(
        input_ids=item["input_ids"][None],
        position_ids=item["position_ids"][None],
        labels=item["labels"][None],
        use_cache=False,
    ).loss
    total, count = 0.0, 0
    for start, n, _, _ in segments(shards, "train", i):
        if n < 2:
            continue
        piece = item["input_ids"][None, start : start + n]
        total += float(model(input_ids=piece, labels=piece, use_cache=False).loss) * (n - 1)
        count += n - 1
    assert float(packed) == pytest.approx(total / count, abs=1e-5)


# ------------------------------------------------------------------------ the collator


def test_items_include_continuations(shards: dict) -> None:
    seg = np.load(shards["out"] / "train_segments.npy")
    assert (seg[:, 4] > 0).any(), "the fixture should continue a document across sequences"


def test_collator_stacks_without_mask(shards: dict) -> None:
    ds = PackedDataset(shards["out"], "train")
    items = [ds[i] for i in range(3)]
    batch = PackedCollator()(items)
    assert set(batch) == {"input_ids", "labels", "position_ids"}  # no attention_mask
    for key in batch:
        assert batch[key].shape == (3, SEQ_LEN) and batch[key].dtype == torch.int64
        assert torch.equal(batch[key], torch.stack([item[key] for item in items]))
    flash = PackedCollator(flash_attn_kwargs=True)(items)
    assert "attention_mask" not in flash
    assert set(flash) - set(batch) == {
        "cu_seq_lens_q",
        "cu_seq_lens_k",
        "max_length_q",
        "max_length_k",
    }
    with pytest.raises(ValueError, match="attention_mask"):
        PackedCollator()([{**items[0], "attention_mask": torch.ones(SEQ_LEN, dtype=torch.long)}])


def test_varlen_kwargs_known_layout() -> None:
    pos = torch.tensor(
        [
            [0, 1, 2, 0, 1, 0, 1, 2, 3, 0],  # segments of 3, 2 and 4 tokens, then 1 of padding
            [0, 1, 2, 3, 4, 5, 0, 1, 0, 0],  # 6, 2, 1 and 1
            [3, 4, 5, 6, 7, 8, 9, 10, 11, 12],  # no reset at all: the row is still its own segment
        ]
    )
    kw = varlen_kwargs(pos)
    expected = [0, 3, 5, 9, 10, 16, 18, 19, 20, 30]
    assert kw["cu_seq_lens_q"].tolist() == expected == kw["cu_seq_lens_k"].tolist()
    assert kw["cu_seq_lens_q"].dtype == torch.int32
    assert kw["max_length_q"] == kw["max_length_k"] == 10
    assert isinstance(kw["max_length_q"], int)


def test_varlen_kwargs_follow_the_segments(shards: dict) -> None:
    """cu_seq_lens are the segment starts (and padding start) of each row, rows laid end to end."""
    ds = PackedDataset(shards["out"], "train")
    rows = list(range(len(ds)))
    batch = PackedCollator(flash_attn_kwargs=True)([ds[i] for i in rows])
    expected = []
    for k, i in enumerate(rows):
        starts = [start for start, _, _, _ in segments(shards, "train", i)]
        used = max(start + n for start, n, _, _ in segments(shards, "train", i))
        expected += [k * SEQ_LEN + s for s in starts + ([used] if used < SEQ_LEN else [])]
    assert batch["cu_seq_lens_q"].tolist() == [*expected, len(rows) * SEQ_LEN]
    assert batch["max_length_q"] == int(np.diff([*expected, len(rows) * SEQ_LEN]).max())


def varlen_reference(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kw):
    """Flash-attention varlen semantics in plain torch: causal attention inside each cu_seq_lens
    span of the flattened batch; without the keywords, one span per row (flash's dense path)."""
    assert attention_mask is None
    b, h, n, d = query.shape
    key = key.repeat_interleave(h // key.shape[1], dim=1)
    value = value.repeat_interleave(h // value.shape[1], dim=1)
    q, k, v = (x.transpose(1, 2).reshape(b * n, h, d) for x in (query, key, value))
    cu = kw.get("cu_seq_lens_q")
    cu = torch.arange(0, b * n + 1, n) if cu is None else cu
    if kw.get("max_length_q") is not None:
        assert kw["max_length_q"] == int(cu.diff().max())
    out = torch.empty_like(q)
    for lo, hi in zip(cu[:-1].tolist(), cu[1:].tolist(), strict=True):
        span = [x[lo:hi].transpose(0, 1) for x in (q, k, v)]
        att = torch.nn.functional.scaled_dot_product_attention(*span, is_causal=True, scale=scaling)
        out[lo:hi] = att.transpose(0, 1)
    return out.view(b, n, h, d), None


@torch.no_grad()
def test_varlen_kwargs_keep_documents_apart(shards: dict, model: LlamaForCausalLM) -> None:
    """With a varlen attention (flash's semantics), a batch of packed rows: each segment's logits
    equal its logits alone with the collator's keywords, and not without them."""
    AttentionInterface.register("msm_varlen_reference", varlen_reference)
    varlen = copy.deepcopy(model)
    varlen.set_attn_implementation("msm_varlen_reference")
    assert varlen.config._attn_implementation == "msm_varlen_reference"
    ds = PackedDataset(shards["out"], "train")
    rows = list(range(len(ds)))
    with_kw = PackedCollator(flash_attn_kwargs=True)([ds[i] for i in rows])
    without = PackedCollator()([ds[i] for i in rows])
    logits = varlen(**with_kw, use_cache=False).logits
    crossed = varlen(**without, use_cache=False).logits
    mixed = False
    for k, i in enumerate(rows):
        for start, n, _, _ in segments(shards, "train", i):
            single = alone(model, ds[i]["input_ids"][start : start + n])
            assert torch.allclose(logits[k, start : start + n], single, atol=1e-5)
            mixed |= start > 0 and not torch.allclose(
                crossed[k, start : start + n], single, atol=1e-3
            )
    assert mixed  # flash without the keywords lets a row's documents attend to each other


@torch.no_grad()
def test_sdpa_model_takes_the_collated_batch(shards: dict, model: LlamaForCausalLM) -> None:
    """What Trainer does with the batch: `model(**batch)`; sdpa ignores the varlen keywords."""
    ds = PackedDataset(shards["out"], "train")
    items = [ds[i] for i in range(len(ds))]
    plain = model(**PackedCollator()(items), use_cache=False)
    flash = model(**PackedCollator(flash_attn_kwargs=True)(items), use_cache=False)
    assert torch.allclose(plain.logits, flash.logits) and torch.allclose(plain.loss, flash.loss)
    rows = [model(**PackedCollator()([item]), use_cache=False).logits[0] for item in items]
    assert torch.allclose(plain.logits, torch.stack(rows), atol=1e-5)  # batching changes nothing
