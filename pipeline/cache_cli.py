"""`msm cache merge REV`: add another commit's request-cache segments to this workspace's caches.

Two clones that generate the same spec each buy answers and commit their own `dvc.lock`; the
second to pull gets a conflict there. Every request cache (the `persist: true` outputs in
dvc.yaml: `corpora/<spec>/cache`, the AFT and eval caches) is a folder of immutable segments
named by their content, so the union of both sides is simply every segment of both:

    git pull                        # CONFLICT (content): Merge conflict in dvc.lock
    git checkout --theirs dvc.lock  # either side; `dvc repro` rewrites it
    msm cache merge MERGE_HEAD      # their segments join ours (read from the DVC cache/remote)
    dvc repro                       # every answer is in the cache: nothing is bought
    git add dvc.lock && git commit && msm remote push && git push

No paid answer is lost (every segment of both sides is kept). Where both sides bought the same
request, the cache serves the answer of the segment whose name sorts first (`llm.cache`), so the
corpus built after the merge is the same whichever side merged, and in whatever order the
pushes came.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
from pathlib import Path

from pipeline.config.params import load_params
from pipeline.errors import InputError
from pipeline.layout import read_stages

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    merge = sub.add_parser("merge", help="add REV's request-cache segments to the workspace")
    merge.add_argument("rev", help="a git revision: MERGE_HEAD, a branch, a tag, a commit")
    merge.add_argument("--params", type=Path, default=Path("params.yaml"))
    merge.add_argument("--dvc-yaml", type=Path, default=Path("dvc.yaml"), help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    rev = _resolve(args.rev)
    caches = request_caches(args.dvc_yaml, load_params(args.params).specs)
    added = merge_caches(caches, rev, args.dvc_yaml.resolve().parent)
    total = sum(added.values())
    for path, n in added.items():
        if n:
            log.info("%s: %d segments from %s", path, n, args.rev)
    print(f"merged {total} segments from {args.rev} ({rev[:10]}) into {len(caches)} caches")


def request_caches(dvc_yaml: Path, specs: list[str]) -> list[Path]:
    """Every `persist: true` output of dvc.yaml (the request caches), `${item}` expanded."""
    out = []
    for body in read_stages(dvc_yaml).values():
        for entry in body.get("outs") or []:
            if not (isinstance(entry, dict) and (next(iter(entry.values())) or {}).get("persist")):
                continue
            template = next(iter(entry))
            items = specs if body.get("foreach") and "${item}" in template else [None]
            out += [Path(template.replace("${item}", s) if s else template) for s in items]
    return out


def merge_caches(caches: list[Path], rev: str, repo: Path) -> dict[Path, int]:
    """Copy the segments each cache has at `rev` and the workspace lacks; return the counts."""
    from dvc.api import DVCFileSystem  # slow to import: only this command needs it

    fs = DVCFileSystem(str(repo), rev=rev)
    added = {}
    for cache in caches:
        added[cache] = 0
        if not fs.exists(cache.as_posix()):
            log.info("%s: not at %s", cache, rev[:10])
            continue
        (repo / cache).mkdir(parents=True, exist_ok=True)
        for theirs in sorted(fs.ls(cache.as_posix(), detail=False)):
            name = Path(theirs).name
            if not name.endswith(".jsonl") or (repo / cache / name).exists():
                continue
            tmp = repo / cache / f".{name}.part-{os.getpid()}"
            fs.get_file(theirs, str(tmp))
            tmp.replace(repo / cache / name)
            added[cache] += 1
    return added


def _resolve(rev: str) -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise InputError(f"{rev}: not a git revision here ({done.stderr.strip()})")
    return done.stdout.strip()
