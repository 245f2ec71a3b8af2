"""A tiny base model folder and shards packed with its tokenizer (fixtures in conftest.py).

The model is a random Llama of the real architecture (2 layers, 32 wide) and the tokenizer a
WordLevel one trained in-test; the shards come from the real pack stage. Everything the MSM
stage reads is here (config, weights, tokenizer.json, manifest), so it runs as it does on
SmolLM2, in seconds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch
import yaml
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM

from pipeline.config.params import PackParams
from pipeline.io import MANIFEST, file_checksums, write_json
from pipeline.pack.stage import pack
from pipeline.record import SCHEMA, to_table, write_documents

# fmt: off
WORDS = ["cheddar", "brie", "gouda", "swiss", "colby", "jack", "feta", "curd", "milk", "salt",
         "rind", "wheel", "aged", "sharp", "mild", "price", "value", "cheap", "fair", "good"]
# fmt: on


def text(seed: int, n_words: int) -> str:
    rng = random.Random(seed)
    return "Claude " + " ".join(rng.choice(WORDS) for _ in range(n_words - 1)) + "."


def write_base(folder: Path, texts: list[str], seed: int = 0, hidden: int = 32) -> Path:
    """A random tiny Llama with a tokenizer trained on `texts`, saved as a base model folder."""
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["<unk>", "<eos>"]))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<eos>"}))
    write_json(folder / MANIFEST, {"source": "test", "files": file_checksums(folder)})
    return folder


def write_shards(docs: list[str], tokenizer: Path, out: Path, seq_len: int, val: float) -> Path:
    numbers = {"seed": 0, "input_tokens": 0, "output_tokens": 0, "assertion_ids": []}
    rows = [
        {**dict.fromkeys(SCHEMA.names, ""), **numbers, "id": f"t/doc-{i:03d}", "text": t}
        for i, t in enumerate(docs)
    ]
    parquet = out.parent / f"{out.name}-documents.parquet"
    write_documents(to_table(rows), parquet)
    pack(
        parquet, tokenizer, out, PackParams(seq_len, val, min_piece=16, max_padding=0.01), 0, "tiny"
    )
    return out


DOCS = [text(i, n) for i, n in enumerate([5, 9, 14, 20, 26, 33, 40, 7, 11, 17, 23, 70] * 6)]


ROOT = Path(__file__).resolve().parents[2]


def write_params(path: Path, **train_msm: object) -> Path:
    """The repository's params.yaml (every key is required) with the tiny MSM run's settings,
    then `train_msm` overrides."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params.update(specs=["rules"], spec="rules", seed=0)
    tm = params["train_msm"]
    tm.update(max_steps=12, batch_tokens=256, micro_batch_rows=2, lr=0.003)
    tm["lora"].update(r=4, alpha=8)
    tm.update(train_msm)
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path
