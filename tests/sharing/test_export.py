"""`msm export`: a folder that `datasets` and polars read as it is, with the card."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tinyrepo import CORPUS, SPEC, digest, msm

pytestmark = pytest.mark.slow


def test_export_loads_with_datasets_and_polars(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets
    import polars

    out = tmp_path / "export"
    done = msm(built, "export", SPEC, str(out))
    pack = json.loads((built / CORPUS / "stats" / "pack.json").read_text())
    assert (out / "README.md").read_bytes() == (built / CORPUS / "README.md").read_bytes()
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    ds = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "hf"))
    assert {k: v.num_rows for k, v in ds.items()} == {
        "train": pack["train"]["documents"],
        "validation": pack["val"]["documents"],
    }
    shard_ids = json.loads((built / CORPUS / "shards" / "val_docs.json").read_text())
    assert sorted(ds["validation"]["id"]) == sorted(shard_ids)
    df = polars.read_parquet(out / "data" / "*.parquet")
    assert df.height == pack["train"]["documents"] + pack["val"]["documents"]
    for column in ("id", "text", "spec", "section_id", "doc_type", "model", "template_hash"):
        assert column in df.columns
    assert df["text"].str.len_chars().min() > 0
    assert set(df["spec"]) == {SPEC}
    assert f"{pack['train']['documents']} train" in done.stdout


def test_export_is_ready_for_a_hub_upload(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The card's front matter names the exported files and splits as `datasets` finds them, and
    loading the folder as a hub dataset repository (README card and all) gives the same rows."""
    import datasets

    out = tmp_path / "export"
    msm(built, "export", SPEC, str(out))
    card = (out / "README.md").read_text()
    assert card.startswith("---\n")
    meta = yaml.safe_load(card[4 : card.index("\n---\n", 4)])
    (config,) = meta["configs"]
    assert config["config_name"] == "default"
    matched: dict[str, list[str]] = {}
    for entry in config["data_files"]:
        files = sorted(str(p.relative_to(out)) for p in out.glob(entry["path"]))
        assert files, f"{entry['path']} matches no exported file"
        matched[entry["split"]] = files
    exported = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert sorted(f for files in matched.values() for f in files) == exported  # each once

    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    by_dir = datasets.load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "a"))
    assert set(by_dir) == set(matched)
    as_hub = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "b"))
    assert set(as_hub) == set(matched)
    for split in matched:
        assert as_hub[split].num_rows == by_dir[split].num_rows > 0
        assert as_hub[split].features == by_dir[split].features
        assert as_hub[split].to_dict() == by_dir[split].to_dict()


def test_export_is_deterministic_and_replaces_only_an_export(built: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    msm(built, "export", SPEC, str(first))
    msm(built, "export", SPEC, str(second))
    assert digest(first) == digest(second)

    again = msm(built, "export", SPEC, str(first), ok=False)
    assert again.returncode == 2 and "--force" in again.stderr
    msm(built, "export", SPEC, str(first), "--force")
    assert digest(first) == digest(second)

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    refused = msm(built, "export", SPEC, str(tmp_path / "mine"), "--force", ok=False)
    assert refused.returncode == 2 and "notes.txt" in refused.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_export_of_a_missing_corpus_says_how_to_get_it(built: Path, tmp_path: Path) -> None:
    done = msm(built, "export", "philosophy", str(tmp_path / "out"), ok=False)
    assert done.returncode == 2
    assert "dvc pull card@philosophy" in done.stderr
    assert not (tmp_path / "out").exists()
