"""The content-addressed request cache: immutable, append-only segment files.

Layout: `<cache>/seg-<hash>.jsonl`, one JSON line per answered request (`key`, `response`).
A run appends to one open segment (`open-<pid>-<n>.jsonl`), each line written as the response
arrives (and fsync'd for paid backends); when the run ends its lines are sorted and it is sealed
under a name derived from that content, so the same answers make the same segment whatever order
they arrived in (batch results and concurrent requests come back in no fixed order).
A run killed midway leaves an open segment whose complete lines are read back (a torn last line
is skipped) and sealed by the next run. Segments are never rewritten, so a DVC remote
receives only new segments and a team never pays twice for one request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

from llm.request import Response

log = logging.getLogger(__name__)


class RequestCache:
    def __init__(self, root: Path, durable: bool = True):
        self.root = root
        self.durable = durable
        self._entries: dict[str, Response] = {}
        self._fh = None
        self._open_path: Path | None = None
        root.mkdir(parents=True, exist_ok=True)
        self._load()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def responses(self) -> list[Response]:
        return list(self._entries.values())

    def get(self, key: str) -> Response | None:
        return self._entries.get(key)

    def put(self, key: str, response: Response) -> None:
        if key in self._entries:
            return
        if self._fh is None:
            self._open_path = self.root / f"open-{os.getpid()}-{len(self._entries)}.jsonl"
            self._fh = open(self._open_path, "a", encoding="utf-8")  # noqa: SIM115 (kept open across puts)
        line = json.dumps({"key": key, "response": response.to_json()}, sort_keys=True)
        self._fh.write(line + "\n")
        self._fh.flush()
        if self.durable:
            os.fsync(self._fh.fileno())
        self._entries[key] = response

    def close(self) -> None:
        """Seal the open segment under its content-derived name."""
        if self._fh is None:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        assert self._open_path is not None
        self._seal(self._open_path)
        self._open_path = None

    def __enter__(self) -> RequestCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load(self) -> None:
        for stale in self.root.glob(".seg-*.part"):  # a seal cut short; its open segment remains
            stale.unlink()
        for path in sorted(self.root.glob("*.jsonl")):
            complete = True
            with open(path, encoding="utf-8") as fh:
                for n, line in enumerate(fh, 1):
                    if not line.endswith("\n"):
                        complete = False  # torn write from a killed run: not paid-for content
                        break
                    try:
                        entry = json.loads(line)
                        self._entries.setdefault(
                            entry["key"], Response.from_json(entry["response"])
                        )
                    except (json.JSONDecodeError, KeyError, TypeError) as err:
                        raise ValueError(
                            f"{path}:{n}: corrupt cache line ({err}); segments are append-only, "
                            "so this file was edited or damaged: restore it with `dvc pull` or "
                            "delete it to pay for those requests again"
                        ) from None
            if path.name.startswith("open-"):
                if not complete:
                    _truncate_torn_tail(path)
                self._seal(path)

    def _seal(self, path: Path) -> None:
        data = b"".join(sorted(path.read_bytes().splitlines(keepends=True)))
        if not data:
            path.unlink()
            return
        final = self.root / f"seg-{hashlib.sha256(data).hexdigest()[:20]}.jsonl"
        if not final.exists():
            tmp = path.with_name(f".{final.name}.part")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        path.unlink()
        log.debug("sealed cache segment %s", final.name)


def _truncate_torn_tail(path: Path) -> None:
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    with contextlib.suppress(FileNotFoundError), open(path, "r+b") as fh:
        fh.truncate(cut)
