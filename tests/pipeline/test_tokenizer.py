"""`model.tokenizer`: the base folder by default, a local tokenizer.json or folder, a hub id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from pipeline.errors import InputError
from pipeline.io import sha256_file
from pipeline.tokenizer import load_tokenizer, tokenizer_text


def word_tokenizer(folder: Path, specials: list[str], config_eos: str | None) -> Path:
    vocab = {t: i for i, t in enumerate([*specials, "[UNK]", "hello", "world"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    if config_eos:
        (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": config_eos}))
    return folder


def test_default_is_the_base_folder(tmp_path: Path) -> None:
    base = word_tokenizer(tmp_path / "base", ["<eos>", "<pad>"], "<pad>")
    loaded = load_tokenizer(base)
    assert loaded.eos_id == 1  # tokenizer_config.json's eos_token wins over the candidates
    assert loaded.sha256 == sha256_file(base / "tokenizer.json")
    assert loaded.tokenizer.encode("hello world").ids == [3, 4]


def test_choice_overrides_default(tmp_path: Path) -> None:
    base = word_tokenizer(tmp_path / "base", ["<eos>"], "<eos>")
    other = word_tokenizer(tmp_path / "other", ["<|endoftext|>", "x"], None)
    by_folder = load_tokenizer(base, str(other))
    by_file = load_tokenizer(base, str(other / "tokenizer.json"))
    assert by_folder.eos_id == by_file.eos_id == 0  # found among the known EOS tokens
    assert by_folder.sha256 == by_file.sha256 == sha256_file(other / "tokenizer.json")


def test_bare_file_without_known_eos_is_an_error(tmp_path: Path) -> None:
    folder = word_tokenizer(tmp_path / "t", ["[SEP]"], None)
    shutil.move(folder / "tokenizer.json", tmp_path / "bare.json")
    with pytest.raises(InputError, match="no end-of-document token"):
        load_tokenizer(tmp_path, str(tmp_path / "bare.json"))


def test_missing_base_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="dvc repro base_model"):
        load_tokenizer(tmp_path / "nothing")


def test_hub_id_needs_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="HF_HUB_OFFLINE"):
        load_tokenizer(tmp_path, "HuggingFaceTB/SmolLM2-135M")


def test_tokenizer_text_is_the_chosen_file(tmp_path: Path) -> None:
    base = word_tokenizer(tmp_path / "base", ["<eos>"], "<eos>")
    other = word_tokenizer(tmp_path / "other", ["<|endoftext|>", "x"], None)
    for choice, folder in (("", base), (str(other), other), (str(other / "tokenizer.json"), other)):
        text = tokenizer_text(base, choice)
        assert text == (folder / "tokenizer.json").read_text(encoding="utf-8")
        built = Tokenizer.from_str(text)
        assert built.to_str() == load_tokenizer(base, choice).tokenizer.to_str()
    with pytest.raises(InputError, match="dvc repro base_model"):
        tokenizer_text(tmp_path / "nothing")
