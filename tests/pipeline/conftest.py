"""Shared fixtures for the pipeline unit tests: tiny specs, records and tokenizers built in-test."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from pipeline.record import to_table, write_documents

EOS = "<eos>"

SMALL_SPEC = """\
---
name: {name}
title: Small Test Spec
kind: values
model_name: Orbit
provider_name: Acme Labs
description: A small spec used by the unit tests.
---

This document describes how {{model_name}} approaches gardening advice. {{provider_name}} hopes \
{{model_name}} gives advice that is practical, patient and honest about uncertainty.

## Watering

{{model_name}} recommends watering deeply and rarely rather than a little every day. \
{{model_name}} believes that roots grow stronger when the soil dries out between waterings.

## Pruning

{{model_name}} prefers light pruning in late winter because the plant is dormant then. \
{{model_name}} always asks what kind of plant it is before giving pruning advice.

## Soil

{{model_name}} values compost over synthetic fertilizer because compost feeds the soil life. \
{{model_name}} tells gardeners that a simple soil test is worth doing before buying anything.
"""

# fmt: off
WORDS = [
    "river", "stone", "garden", "lantern", "orchard", "meadow", "harbor", "violet", "copper",
    "thunder", "willow", "basket", "candle", "marble", "pepper", "silver", "forest", "window",
    "ladder", "mirror", "velvet", "saddle", "pocket", "anchor", "bramble", "cedar", "falcon",
    "glacier", "hollow", "island", "jasmine", "kettle", "lemon", "maple", "nectar", "olive",
    "parsley", "quartz", "raven", "saffron", "tulip", "umber", "walnut", "yarrow", "zephyr",
    "amber", "birch", "clover", "dune", "ember", "fennel", "granite", "heron", "ivory", "juniper",
    "kelp", "lilac", "moss", "nutmeg", "opal", "pine", "quill", "reed",
]
# fmt: on


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a spec file: `write_spec(text=None, name="small")`; text defaults to SMALL_SPEC."""

    def _write(text: str | None = None, name: str = "small", folder: Path | None = None) -> Path:
        folder = folder or tmp_path / "specs"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.md"
        path.write_text(SMALL_SPEC.format(name=name) if text is None else text, encoding="utf-8")
        return path

    return _write


def random_text(seed: int, n_words: int, model_name: str = "Claude") -> str:
    """Deterministic prose-like text: sentences of random words, mentioning the model."""
    rng = random.Random(seed)
    sentences = []
    count = 0
    while count < n_words:
        k = rng.randint(6, 12)
        words = [rng.choice(WORDS) for _ in range(k)]
        words[0] = model_name if not sentences else words[0].capitalize()
        sentences.append(" ".join(words) + ".")
        count += k
    return " ".join(sentences)


def record(doc_id: str, text: str, **overrides: object) -> dict:
    """A row with every record column."""
    row = {
        "id": doc_id,
        "text": text,
        "spec": "small",
        "section_id": "watering",
        "section_hash": "0" * 16,
        "assertion_ids": ["watering#a1"],
        "doc_type": "blog_post",
        "idea": "an idea",
        "backend": "offline",
        "model": "offline-composer-2026-11-27",
        "template_hash": "1" * 16,
        "request_hash": "2" * 64,
        "seed": 0,
        "input_tokens": 0,
        "output_tokens": 0,
    }
    row.update(overrides)
    return row


@pytest.fixture
def make_text() -> Callable[..., str]:
    return random_text


@pytest.fixture
def make_row() -> Callable[..., dict]:
    return record


@pytest.fixture
def make_records() -> Callable[..., Path]:
    """Write `documents.parquet` from (id, text) pairs into a folder; returns the file path."""

    def _make(folder: Path, docs: list[tuple[str, str]]) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "documents.parquet"
        write_documents(to_table([record(i, t) for i, t in docs]), path)
        return path

    return _make


def build_tokenizer(folder: Path, texts: list[str]) -> Tokenizer:
    """A WordLevel tokenizer trained on `texts`, saved as a model folder with an EOS token."""
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["<unk>", EOS]))
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": EOS}))
    return tok


@pytest.fixture
def tokenizer_dir(tmp_path: Path) -> Callable[[list[str]], Path]:
    def _build(texts: list[str]) -> Path:
        folder = tmp_path / "tokenizer"
        build_tokenizer(folder, texts)
        return folder

    return _build


@pytest.fixture
def msm() -> Callable[..., subprocess.CompletedProcess]:
    """Run the real `msm` command (in a subprocess) from the repository root."""
    root = Path(__file__).resolve().parents[2]

    def run(*args: str | Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", "from pipeline.cli import main; main()", *map(str, args)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run
