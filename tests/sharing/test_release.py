"""Corpus releases: a git tag plus `dvc push` in one repository, `dvc import --rev` and
`dvc update` in another, through a shared-folder remote. The pin is made with the command line
the data card gives, filled in."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from tinyrepo import CORPUS, SPEC, clone, digest, dvc, msm, run, stages_run

pytestmark = pytest.mark.slow
SHARDS = f"{CORPUS}/shards"


def test_release_tag_import_and_update(built: Path, shared_folder: Path, tmp_path: Path) -> None:
    # the producing repository: the shared folder is its default remote, committed
    producer = clone(built, tmp_path / "producer")
    dvc(producer, "remote", "add", "-d", "store", str(shared_folder))
    run(producer, "git", "commit", "-qam", "default remote: the shared folder")
    msm(producer, "remote", "pull", "pack@" + SPEC)
    run(producer, "git", "tag", f"{SPEC}-v1")
    v1 = digest(producer / SHARDS)

    # another repository pins v1
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    run(consumer, "git", "init", "-q")
    dvc(consumer, "init", "-q")
    card = (built / CORPUS / "README.md").read_text()  # the card of the commit tagged v1
    (line,) = re.findall(r"^dvc import .*$", card, flags=re.M)
    line = line.replace("<this repo's git URL>", str(producer)).replace("<tag>", f"{SPEC}-v1")
    run(consumer, *shlex.split(line))
    assert digest(consumer / "shards") == v1
    pin = (consumer / "shards.dvc").read_text()
    assert f"rev: {SPEC}-v1" in pin and "rev_lock:" in pin

    # the producer edits the spec, rebuilds, pushes and tags v2
    spec = producer / "specs" / f"{SPEC}.md"
    spec.write_text(spec.read_text() + "\nIt says so plainly when a rule is unclear to it.\n")
    assert stages_run(dvc(producer, "repro")) >= {f"generate@{SPEC}", f"pack@{SPEC}"}
    run(producer, "git", "commit", "-qam", "spec edit")
    msm(producer, "remote", "push")
    run(producer, "git", "tag", f"{SPEC}-v2")
    v2 = digest(producer / SHARDS)
    assert v2 != v1

    # `dvc update` keeps a tag pin where it is; `--rev` moves it
    dvc(consumer, "update", "shards.dvc")
    assert digest(consumer / "shards") == v1
    dvc(consumer, "update", "--rev", f"{SPEC}-v2", "shards.dvc")
    assert digest(consumer / "shards") == v2
    assert f"rev: {SPEC}-v2" in (consumer / "shards.dvc").read_text()
