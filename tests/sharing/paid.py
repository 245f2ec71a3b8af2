"""Clones that buy their corpus from a paid backend: a local Anthropic-protocol server
(`fakes.localserver`) stands in for the API and counts every request it receives.

`origin(root, built, shared_folder)` makes a bare git origin whose head switches generation to
the paid backend, plus a shared-folder DVC store holding what `built` built (the base model);
`buyer` clones it, `buy` runs `dvc repro` against a server, `publish` pushes both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import tinyrepo
import yaml

from fakes.localserver import LocalAPIServer
from fakes.standin import LocalModel

MODEL = "claude-sonnet-4-5-20250929"  # priced in run.yaml
CACHE = Path(tinyrepo.CORPUS) / "cache"


def sh(cwd: Path, *cmd: str, url: str = "", ok: bool = True) -> subprocess.CompletedProcess:
    """Run a command with the paid backend's key and base URL (`url`: the local server's)."""
    env = tinyrepo.env()
    env.update(ANTHROPIC_API_KEY="test", ANTHROPIC_BASE_URL=url, MSM_WORK_DIR=str(cwd / ".msm"))
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert not ok or done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout}\n{done.stderr}"
    return done


def dvc(cwd: Path, *args: str, url: str = "") -> subprocess.CompletedProcess:
    return sh(cwd, sys.executable, "-m", "dvc", *args, url=url)


def paid_api(salt: str) -> LocalAPIServer:
    """A paid API on 127.0.0.1 whose stand-in model answers with `salt` in its sampling."""
    return LocalAPIServer(
        api_key="test", responder=LocalModel(salt=salt), port=0, batch_processing_s=0.1
    )


def bought(server: LocalAPIServer) -> tuple[int, int]:
    """What a server has been asked for: (Messages requests, batches created)."""
    return len(server.requests), len(server.batches_created)


def origin(root: Path, built: Path, shared_folder: Path) -> Path:
    """`root/origin.git`, whose head generates through the paid backend, and `root/store`."""
    shutil.copytree(shared_folder, root / "store")
    setup = tinyrepo.clone(built, root / "setup")
    params = yaml.safe_load((setup / "params.yaml").read_text())
    params["generate"].update(backend="anthropic", model=MODEL)
    (setup / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(setup, "git", "commit", "-qam", "generate through the paid backend")
    sh(root, "git", "clone", "-q", "--bare", str(setup), str(root / "origin.git"))
    return root


def buyer(root: Path, name: str) -> Path:
    """A clone of the paid origin with the store as its default remote and the base model."""
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
