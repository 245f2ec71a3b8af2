"""Two clones buy the same spec's corpus from a paid backend at once, push, and merge: nothing is
lost or bought again, and the merged corpus is the same whichever clone pushed first.

Each clone buys from its own local Anthropic-protocol server whose stand-in answers differently
(a salt), as two calls to a sampled model do, so the two corpora differ before the merge.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import tinyrepo
import yaml
from scratch import discarded

from fakes.localserver import LocalAPIServer
from fakes.standin import LocalModel

MODEL = "claude-sonnet-4-5-20250929"  # priced in run.yaml
CACHE = Path(tinyrepo.CORPUS) / "cache"

pytestmark = pytest.mark.slow(seconds=180)


def sh(cwd: Path, *cmd: str, url: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    env = tinyrepo.env()
    env.update(ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=url, MSM_WORK_DIR=str(cwd / ".msm"))
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert not ok or done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
    return done


def dvc(cwd: Path, *args: str, url: str = "") -> subprocess.CompletedProcess:
    return sh(cwd, sys.executable, "-m", "dvc", *args, url=url)


@pytest.fixture(scope="module")
def paid(
    request: pytest.FixtureRequest,
    built: Path,
    shared_folder: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """A bare origin whose head switches generation to the paid backend, and its own remote."""
    root = tmp_path_factory.mktemp("buyers")
    shutil.copytree(shared_folder, root / "store")
    setup = tinyrepo.clone(built, root / "setup")
    params = yaml.safe_load((setup / "params.yaml").read_text())
    params["generate"].update(backend="anthropic", model=MODEL)
    (setup / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(setup, "git", "commit", "-qam", "generate through the paid backend")
    sh(root, "git", "clone", "-q", "--bare", str(setup), str(root / "origin.git"))
    with discarded(request, root):
        yield root


def buyer(root: Path, name: str) -> Path:
    repo = root / name
    sh(root, "git", "clone", "-q", str(root / "origin.git"), str(repo))
    dvc(repo, "remote", "add", "--local", "-d", "store", str(root / "store"))
    dvc(repo, "pull", "base_model")
    return repo


def buy(repo: Path, server: LocalAPIServer) -> None:
    dvc(repo, "repro", url=server.url)
    sh(repo, "git", "commit", "-qam", f"{repo.name} bought its corpus")


def publish(repo: Path) -> None:
    dvc(repo, "push")
    sh(repo, "git", "push", "-q", "origin", "HEAD:main")


def merge(repo: Path, server: LocalAPIServer) -> None:
    """The README's lines, after a pull whose dvc.lock conflicts."""
    pulled = sh(repo, "git", "-c", "pull.rebase=false", "pull", "-q", "origin", "main", ok=False)
    assert pulled.returncode != 0 and "dvc.lock" in pulled.stdout + pulled.stderr
    sh(repo, "git", "checkout", "--theirs", "dvc.lock")
    merged = sh(repo, sys.executable, "-m", "pipeline.cli", "cache", "merge", "MERGE_HEAD")
    assert "merged 1 segments" in merged.stdout, merged.stdout
    before = len(server.requests)
    dvc(repo, "repro", url=server.url)
    assert len(server.requests) == before, "the merged cache must answer every request"
    sh(repo, "git", "add", "dvc.lock")
    sh(repo, "git", "commit", "-qm", f"{repo.name} merged")


def scenario(root: Path, first: str) -> dict[str, dict[str, str]]:
    """Clones A and B buy at once; `first` pushes first, the other merges; both end equal."""
    a, b = buyer(root, f"{first}-A"), buyer(root, f"{first}-B")
    with (
        LocalAPIServer(api_key="test", responder=LocalModel(salt="A"), port=0,
                       batch_processing_s=0.1) as server_a,
        LocalAPIServer(api_key="test", responder=LocalModel(salt="B"), port=0,
                       batch_processing_s=0.1) as server_b,
    ):  # fmt: skip
        buy(a, server_a)
        buy(b, server_b)
        bought = {"A": len(server_a.requests), "B": len(server_b.requests)}
        assert bought["A"] == bought["B"] > 0
        assert tinyrepo.digest(a / tinyrepo.CORPUS) != tinyrepo.digest(b / tinyrepo.CORPUS)
        own = {"A": set(os.listdir(a / CACHE)), "B": set(os.listdir(b / CACHE))}
        pusher, merger = (a, b) if first == "A" else (b, a)
        publish(pusher)
        merge(merger, server_b if merger is b else server_a)
        publish(merger)
        sh(pusher, "git", "pull", "-q", "origin", "main")
        dvc(pusher, "pull")
        assert {"A": len(server_a.requests), "B": len(server_b.requests)} == bought
    for repo in (a, b):
        assert set(os.listdir(repo / CACHE)) == own["A"] | own["B"]  # no paid answer lost
    assert tinyrepo.digest(a / tinyrepo.CORPUS) == tinyrepo.digest(b / tinyrepo.CORPUS)
    return tinyrepo.digest(a / tinyrepo.CORPUS)


def test_merged_corpus_is_the_same_whoever_pushed_first(paid: Path) -> None:
    assert scenario(paid, "A") == scenario(paid, "B")
