"""`msm remote check|push|pull`: a DVC remote, checked before any data moves.

    msm remote check [-r NAME]              reach the remote, trust its host, log in, list it
    msm remote push  [-r NAME] [TARGET...]  check, then `dvc push`
    msm remote pull  [-r NAME] [TARGET...]  check, `dvc fetch`, verify every fetched object
                                            against its checksum, then `dvc checkout`

NAME defaults to the repository's default remote (`dvc remote add -d`). The check closes two
gaps that plain `dvc push`/`dvc pull` leave open:

- SSH host keys. DVC's SSH remote (dvc-ssh) connects without checking the server's host key.
  The check connects first and requires the key to be in `~/.ssh/known_hosts` (or the
  `UserKnownHostsFile` that `~/.ssh/config` names), as `ssh` does; an unknown or changed key
  stops before DVC connects. A wrong password or key stops here too, with the fix.
- Corrupt objects. A remote object is named by the md5 of its content, but DVC does not check
  that on download by default (only with `dvc remote modify NAME verify true`, and then it
  reports a checkout failure without saying why). `pull` hashes every object it fetched; a
  mismatch removes that object from the local cache, names it, and stops before checkout, so
  nothing in the workspace changes.

Exit codes: 0 on success, 2 for a remote that fails the check or sends a corrupt object, and
DVC's own code when `dvc push`, `dvc fetch` or `dvc checkout` fails.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.errors import InputError

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 20


class RemoteError(InputError):
    """A remote that cannot be used as configured; the message says why and how to fix it."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("check", "push", "pull"))
    p.add_argument("targets", nargs="*", help="DVC targets (stages or paths); default: all")
    p.add_argument("-r", "--remote", help="remote name (default: the default remote)")
    p.add_argument("-j", "--jobs", type=int, help="parallel transfers (DVC's --jobs)")


def run(args: argparse.Namespace) -> None:
    from dvc.repo import Repo

    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per channel otherwise
    with Repo() as repo:
        name, conf = remote_config(repo, args.remote)
        cache = Path(repo.cache.local.path)
    check(name, conf)
    print(f"remote {name!r} ({conf['url']}): OK")
    if args.action == "check":
        return
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    if args.action == "push":
        _dvc("push", "-r", name, *jobs, *args.targets)
        return
    before = cache_objects(cache)
    _dvc("fetch", "-r", name, *jobs, *args.targets)
    bad = corrupt_objects(cache, cache_objects(cache) - before)
    if bad:
        for rel, _ in bad:
            (cache / rel).unlink()
        listing = "\n".join(
            f"  {conf['url'].rstrip('/')}/files/md5/{rel} has md5 {actual}" for rel, actual in bad
        )
        raise RemoteError(
            f"remote {name!r} sent {len(bad)} corrupt object(s): an object's name is the md5 of "
            f"its content, and these do not match it:\n{listing}\n"
            "They were removed from the local cache and nothing was checked out. Delete them on "
            f"the remote, push them again from a clone that has good copies (`dvc push -r "
            f"{name}`: DVC uploads only what the remote lacks), then pull again."
        )
    _dvc("checkout", *args.targets)


def _dvc(*argv: str) -> None:
    from dvc.cli import main as dvc_main

    log.info("dvc %s", " ".join(argv))
    code = dvc_main(list(argv))
    if code:
        raise RemoteError(f"`dvc {' '.join(argv)}` failed (exit {code}); its message is above")


def remote_config(repo: Any, name: str | None) -> tuple[str, dict[str, Any]]:
    """The remote's name and merged config (repository and `--local` settings)."""
    remotes = repo.config.get("remote", {})
    name = name or repo.config.get("core", {}).get("remote")
    if not name:
        raise RemoteError(
            "no remote named and no default remote; add one with `dvc remote add -d NAME URL` "
            "(README, 'Sharing corpora through a remote')"
        )
    if name not in remotes:
        known = ", ".join(sorted(remotes)) or "none"
        raise RemoteError(f"no remote named {name!r} (known: {known}); see `dvc remote list`")
    return name, dict(remotes[name])


def check(name: str, conf: dict[str, Any]) -> None:
    """Raise RemoteError unless the remote is reachable, trusted and lets us in."""
    url = conf["url"]
    if urlsplit(url).scheme == "ssh":
        asyncio.run(_check_ssh(name, conf))
    _check_listing(name, url)


async def _check_ssh(name: str, conf: dict[str, Any]) -> None:
    import asyncssh

    parts = urlsplit(conf["url"])
    host = parts.hostname or ""
    port = int(conf.get("port") or parts.port or 22)
    user = conf.get("user") or parts.username
    keyfile = conf.get("keyfile")
    where = f"{user + '@' if user else ''}{host}:{port}"
    options: dict[str, Any] = {"port": port, "connect_timeout": CONNECT_TIMEOUT_S}
    if user:
        options["username"] = user
    if conf.get("password") is not None:
        options["password"] = conf["password"]
    if keyfile:
        options["client_keys"] = [str(Path(keyfile).expanduser())]
        options["passphrase"] = conf.get("passphrase")
    try:
        async with asyncssh.connect(host, **options) as conn:
            await conn.run("true", check=False)
    except asyncssh.HostKeyNotVerifiable as err:
        raise RemoteError(
            f"remote {name!r}: the host key of {host}:{port} is not trusted ({err.reason}). "
            f"It must be in ~/.ssh/known_hosts: check the server's fingerprint with its "
            f"administrator, then add it (`ssh-keyscan -p {port} {host} >> ~/.ssh/known_hosts`, "
            "or log in once with `ssh`). Nothing was transferred."
        ) from None
    except asyncssh.PermissionDenied:
        how = "password" if conf.get("password") is not None else "key"
        raise RemoteError(
            f"remote {name!r}: {where} refused the login ({how} rejected). Fix the credentials "
            f"with `dvc remote modify --local {name} password ...` or `... keyfile PATH`. "
            "Nothing was transferred."
        ) from None
    except (OSError, asyncssh.Error) as err:
        raise RemoteError(
            f"remote {name!r}: cannot reach {where} over SSH ({err}); check the host, port and "
            "network. Nothing was transferred."
        ) from None


def _check_listing(name: str, url: str) -> None:
    """List the remote's root with DVC's own filesystem for it (credentials as DVC uses them)."""
    from dvc.repo import Repo

    with Repo() as repo:
        remote = repo.cloud.get_remote(name)
        try:
            remote.fs.exists(remote.path)
        except Exception as err:  # the plugin's own error types (botocore, sshfs, ...) vary
            raise RemoteError(
                f"remote {name!r}: cannot list {url} ({type(err).__name__}: {err}); check the "
                f"URL and credentials (`dvc remote modify --local {name} ...`). Nothing was "
                "transferred."
            ) from None


def cache_objects(cache: Path) -> set[str]:
    """Object paths under the local cache (`files/md5/ab/cdef...`), relative to it."""
    return {str(p.relative_to(cache)) for p in cache.glob("*/*") if p.is_file()}


def corrupt_objects(cache: Path, objects: set[str]) -> list[tuple[str, str]]:
    """(object, actual md5) for each object whose content does not hash to its name."""
    bad = []
    for rel in sorted(objects):
        expected = rel.replace("/", "").removesuffix(".dir")
        h = hashlib.md5(usedforsecurity=False)
        with open(cache / rel, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
        if h.hexdigest() != expected:
            bad.append((rel, h.hexdigest()))
    return bad
