"""Two clones buy the same spec's corpus from a paid backend at once, push, and merge: nothing is
lost or bought again, and the merged corpus is the same whichever clone pushed first.

Each clone buys from its own local Anthropic-protocol server whose stand-in answers differently
(a salt), as two calls to a sampled model do, so the two corpora differ before the merge.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import tinyrepo
from paid import CACHE, bought, buy, buyer, dvc, paid_api, publish, sh

from fakes.localserver import LocalAPIServer

pytestmark = pytest.mark.slow(seconds=180)


def merge(repo: Path, server: LocalAPIServer) -> None:
    """The README's lines, after a pull whose dvc.lock conflicts."""
    pulled = sh(repo, "git", "-c", "pull.rebase=false", "pull", "-q", "origin", "main", ok=False)
    assert pulled.returncode != 0 and "dvc.lock" in pulled.stdout + pulled.stderr
    sh(repo, "git", "checkout", "--theirs", "dvc.lock")
    merged = sh(repo, sys.executable, "-m", "pipeline.cli", "cache", "merge", "MERGE_HEAD")
    assert "merged 1 segments" in merged.stdout, merged.stdout
    before = bought(server)
    dvc(repo, "repro", url=server.url)
    assert bought(server) == before, "the merged cache must answer every request"
    sh(repo, "git", "add", "dvc.lock")
    sh(repo, "git", "commit", "-qm", f"{repo.name} merged")


def scenario(root: Path, first: str) -> dict[str, dict[str, str]]:
    """Clones A and B buy at once; `first` pushes first, the other merges; both end equal."""
    a, b = buyer(root, f"{first}-A"), buyer(root, f"{first}-B")
    with paid_api("A") as server_a, paid_api("B") as server_b:
        buy(a, server_a)
        buy(b, server_b)
        spent = {"A": bought(server_a), "B": bought(server_b)}
        assert spent["A"] == spent["B"] and spent["A"][0] > 0
        assert tinyrepo.digest(a / tinyrepo.CORPUS) != tinyrepo.digest(b / tinyrepo.CORPUS)
        own = {"A": set(os.listdir(a / CACHE)), "B": set(os.listdir(b / CACHE))}
        pusher, merger = (a, b) if first == "A" else (b, a)
        publish(pusher)
        merge(merger, server_b if merger is b else server_a)
        publish(merger)
        sh(pusher, "git", "pull", "-q", "origin", "main")
        dvc(pusher, "pull")
        assert {"A": bought(server_a), "B": bought(server_b)} == spent
    for repo in (a, b):
        assert set(os.listdir(repo / CACHE)) == own["A"] | own["B"]  # no paid answer lost
    assert tinyrepo.digest(a / tinyrepo.CORPUS) == tinyrepo.digest(b / tinyrepo.CORPUS)
    return tinyrepo.digest(a / tinyrepo.CORPUS)


def test_merged_corpus_is_the_same_whoever_pushed_first(paid_origin: Path) -> None:
    assert scenario(paid_origin, "A") == scenario(paid_origin, "B")
