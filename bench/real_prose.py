"""A labelled corpus of real English prose, built offline from packages' documentation.

    python bench/real_prose.py --out .msm/bench/real_prose    # documents.parquet, pairs.parquet,
                                                              # sources.json, settings.json

The benchmarks (`dedup_throughput.py`, `quality_throughput.py`, `pack_throughput.py` with
`--corpus real`) build it on first use into that folder and reuse it while the settings, the
installed package versions and the pinned sdists are the same. The first build downloads the
sdists pinned in `bench/prose-sources.txt` into .msm/bench/sdists with pip (~300 MB, checked
against their sha256); after that it builds offline.

Sources, each under its project's licence, which `sources.json` lists with its version and the
number of documents it gave (all open-source licences; the text is used for measurement only and
is not redistributed):
- the documentation text that ships inside the packages `make env` installs (pinned by
  `requirements/cpu.txt`): every module, class and function docstring of every distribution in
  the project's dependency closure (torch, transformers, numpy, sympy, pandas, ray, datatrove,
  ...), their long descriptions (the README in `METADATA`), and Python's own standard-library
  docstrings and reference-manual topics (`pydoc_data.topics`), both under the PSF licence;
- the documentation folders (`doc/`, `docs/`: manuals, tutorials, references, release notes in
  reStructuredText or Markdown) of the well-known projects' source distributions pinned in
  `bench/prose-sources.txt` (Django, Salt, SQLAlchemy, Breezy, Astropy, Ansible, pytest, Sphinx,
  ...; `prose_sdists.py`), read from the tarballs without unpacking or running them, their markup
  taken out by `doc_markup.py`.

Paragraphs are kept when they read as prose, so that the corpus holds no artifacts for the
quality filters to find: paragraphs with doctest or shell lines, code blocks (indented after
`::`, `.. code-block::`, Markdown fences), tables and docstring field lists (`Args:`,
`Parameters`, `name (type): ...` lines: tables written as text) are left out, and so are
paragraphs with fewer than 8 words or where fewer than half of the words have a letter, and the
unfinished sentence that leads into a left-out block ("... is given by", "For example:"; the
paragraph's earlier sentences stay); titles, RST directives and table rules are dropped as lines.
A paragraph's lines are joined with single spaces. Paragraphs of one source (in file order) are
grouped into documents of 300-500 words (uniform); a paragraph longer than that is split where a
sentence ends; exactly repeated paragraphs (vendored copies) and paragraphs filled from a
template (most of their word 5-grams already in the source's earlier paragraphs: plotly's
generated property references, pandas' shared docstrings) are kept once.

Labelled near duplicates: `--dup-fraction` of the documents are edited copies of another
document, with edits of real text at a rate spread so that pair Jaccard covers ~0.1-1:
substituted words (drawn from the corpus' own words), deleted or inserted words, a rewritten
span with a moved paragraph, truncation or extension by another document's paragraphs. Each
pair's exact word 5-gram Jaccard (`fakes.corpus.jaccard`) is recorded. Rows are shuffled.
Everything is deterministic given --seed, the installed package versions and the pinned sdists.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import prose_sdists
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

_CODE_LINE = re.compile(r"^\s*(>>>|\.\.\. |\$ |In \[\d+\]:)")
# a generated changelog's line: a commit hash, `**PR** #n: (user)`, `@ *2016-12-09 16:57 UTC*`
_LOG_LINE = re.compile(
    r"^\s*((?=[0-9a-f]*\d)[0-9a-f]{7,40}\s|\*\*(PR|ISSUE)\*\*|@ \*\d{4}-\d\d-\d\d)"
)
_MARKUP_LINE = re.compile(
    r"^\s*(\.\. |::|[=\-~^*#+`]{3,}\s*$|\+[-=+]+\+\s*$|\||(?:[=-]{3,}\s+)+[=-]{3,}\s*$)"
)
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Attributes|Raises|Yields|Keyword Arg(ument)?s"
    r"|Other Parameters|Examples?|Inputs|Outputs)\s*:?\s*$"
)
# `name (type): text`, `*args: text`, `a, b : int`, `:param name: text`, `:Field: text`
_FIELD = re.compile(
    r"^\s*\*{0,2}[\w.\[\]]+(,\s*\*{0,2}[\w.\[\]]+)*\s*(\([^)]*\))?\s*:(\s|$)"
    r"|^\s*:(param|type|return|rtype|raises)\b|^\s*:\w[\w .-]*:(\s|$)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(`*]?[A-Z])")
_ENDS = (".", "!", "?", '."', ".)")
TEMPLATE_SHARE = 0.5
BUILDER = 4
"""Bumped when the selection of text changes, so that a saved corpus is rebuilt."""
DEFAULT_N = 20_000
"""Documents (10% of them labelled copies), as issue 17 asks: the installed packages give ~6,700
documents of prose paragraphs once code, field lists and templated docstrings are left out, and
the pinned sdists' documentation the rest."""
_LETTER = re.compile(r"[^\W\d_]")
MIN_WORDS, MAX_WORDS = 300, 500
SDIST_CACHE = Path(".msm/bench/sdists")
"""Where the pinned sdists are downloaded once (git-ignored, like every `.msm/` folder)."""
OWN = "msm-factory"


@dataclass(frozen=True)
class LabelledProse:
    texts: list[str]
    pairs: list[tuple[int, int]]
    jaccard: np.ndarray
    sources: dict[str, dict]  # distribution -> version, licence, documents


def _prose_paragraphs(text: str) -> list[str]:
    """The prose paragraphs of a docstring or README, each on one line."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        words = [] if _not_prose(lines) else _words(lines)
        if len(words) >= 8 and sum(bool(_LETTER.search(w)) for w in words) >= 0.5 * len(words):
            out.append(" ".join(words))
        elif out and not out[-1].endswith(_ENDS):
            # the sentence that leads into a dropped block ("... is given by", "For example:")
            # goes with it: without the block it stops mid-thought
            rest = " ".join(_SENTENCE_END.split(out.pop())[:-1])
            if len(rest.split()) >= 8 and rest.endswith(_ENDS):
                out.append(rest)
    return out


def _words(lines: list[str]) -> list[str]:
    return " ".join(ln.strip() for ln in lines if not _MARKUP_LINE.match(ln)).split()


def _not_prose(lines: list[str]) -> bool:
    """Code (doctest, shell, an indented block after `::`), markup alone, a generated
    changelog's commit list, or a docstring field list (`Args:`, `Parameters`, `name (type):
    ...` lines): a table written as text."""
    kept = [ln for ln in lines if not _MARKUP_LINE.match(ln)]
    if not kept or any(_CODE_LINE.match(ln) or _LOG_LINE.match(ln) for ln in lines):
        return True
    if any(ln.startswith(("    ", "\t")) for ln in kept[1:]) and kept[0].rstrip().endswith("::"):
        return True
    if _SECTION.match(kept[0]):
        return True
    return sum(bool(_FIELD.match(ln)) for ln in kept) * 2 >= len(kept)


def _docstrings(source: str) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    nodes = [n for n in ast.walk(tree) if isinstance(n, kinds)]
    nodes.sort(key=lambda n: getattr(n, "lineno", 0))
    return [d for n in nodes if (d := ast.get_docstring(n, clean=True))]


def _file_paragraphs(path: Path) -> list[str]:
    """The prose paragraphs of a Python file's docstrings; none where it cannot be parsed."""
    try:
        docs = _docstrings(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    return [p for d in docs for p in _prose_paragraphs(d)]


def source_files(sdists: Path | None) -> list[tuple[str, str, str, list[str]]]:
    """(source, version, licence, paragraphs) of every file with prose, in a fixed order: the
    installed packages' docstrings and READMEs, the standard library's, then the documentation
    of the sdists pinned in `bench/prose-sources.txt` from the cache folder `sdists` (fetched
    there first where missing; None: left out)."""
    out = []
    dists = _distributions()
    for name in sorted(dists):
        dist = dists[name]
        version, licence = dist.version, prose_sdists.licence(dist.metadata)
        readme = dist.metadata.get_payload() or dist.metadata.get("Description") or ""
        paragraphs = _prose_paragraphs(readme) if isinstance(readme, str) else []
        if paragraphs:
            out.append((name, version, licence, paragraphs))
        files = sorted(str(f) for f in dist.files or [] if str(f).endswith(".py"))
        for rel in files:
            paragraphs = _file_paragraphs(Path(dist.locate_file(rel)))
            if paragraphs:
                out.append((name, version, licence, paragraphs))
    import sysconfig

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(stdlib.rglob("*.py")):
        parts = path.relative_to(stdlib).parts
        if parts[0] in ("site-packages", "test", "idlelib", "lib2to3") or "tests" in parts:
            continue
        paragraphs = _file_paragraphs(path)
        if paragraphs:
            out.append(("python-stdlib", sys.version.split()[0], "PSF-2.0", paragraphs))
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    for key in sorted(topics):
        paragraphs = _prose_paragraphs(topics[key])
        if paragraphs:
            out.append(("python-reference", sys.version.split()[0], "PSF-2.0", paragraphs))
    if sdists is not None:
        out += prose_sdists.sources(sdists, _prose_paragraphs)
    return out


def _documents(files, rng: np.random.Generator) -> tuple[list[list[str]], list[str]]:
    """Documents (lists of paragraphs) of MIN_WORDS-MAX_WORDS words, and each one's source."""
    seen: set[str] = set()
    docs, owners = [], []
    owner = None
    for name, _, _, paragraphs in files:
        if name != owner:  # a document holds one distribution's text
            owner = name
            target, current, words = int(rng.integers(MIN_WORDS, MAX_WORDS + 1)), [], 0
            grams: set[int] = set()
        for p in paragraphs:
            if p in seen or _templated(p, grams):
                continue
            seen.add(p)
            for piece in _split(p, MAX_WORDS):
                n = len(piece.split())
                if words + n > MAX_WORDS and words >= MIN_WORDS:
                    docs.append(current)
                    owners.append(name)
                    target, current, words = int(rng.integers(MIN_WORDS, MAX_WORDS + 1)), [], 0
                current.append(piece)
                words += n
                if words >= target:
                    docs.append(current)
                    owners.append(name)
                    target, current, words = int(rng.integers(MIN_WORDS, MAX_WORDS + 1)), [], 0
    return docs, owners


def _templated(paragraph: str, grams: set[int]) -> bool:
    """Whether most of the paragraph's word 5-grams are in `grams` (those of the distribution's
    earlier paragraphs), which it then joins: a docstring filled from a template (plotly's
    property references, pandas' shared docstrings, a `Parameters` block repeated on every
    method) is generated text, kept once like a vendored copy."""
    words = paragraph.split()
    mine = {hash(tuple(words[i : i + 5])) for i in range(max(1, len(words) - 4))}
    repeated = len(mine & grams) >= TEMPLATE_SHARE * len(mine)
    grams |= mine
    return repeated


def _split(paragraph: str, most: int) -> list[str]:
    """Pieces of at most `most` words that end where a sentence ends (a sentence longer than
    that is left out: a table or a list run together, not prose)."""
    pieces: list[list[str]] = [[]]
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        if len(words) > most:
            continue
        if len(pieces[-1]) + len(words) > most:
            pieces.append([])
        pieces[-1].extend(words)
    return [" ".join(p) for p in pieces if p]


def _edit(doc: list[str], rate: float, rng: np.random.Generator, vocab, donor) -> list[str]:
    """An edited copy of a document (paragraphs of words), as in `fakes.corpus._edit`."""
    paras = [p.split() for p in doc]
    flat = [w for p in paras for w in p]
    breaks = np.cumsum([len(p) for p in paras])[:-1].tolist()  # paragraph starts
    n = len(flat)
    k = min(n - 1, round(rate * n))
    kind = int(rng.integers(4))
    marks = np.zeros(n, dtype=bool)
    marks[breaks] = True
    words = np.array(flat, dtype=object)
    if kind == 0:  # substitutions
        pos = rng.choice(n, size=k, replace=False)
        words[pos] = vocab[rng.integers(len(vocab), size=k)]
    elif kind == 1:  # deletions and insertions
        pos = np.sort(rng.choice(n, size=k, replace=False))
        delete = rng.random(k) < 0.5
        keep = np.ones(n, dtype=bool)
        keep[pos[delete]] = False
        ins = pos[~delete]
        new = vocab[rng.integers(len(vocab), size=len(ins))]
        words = np.insert(words, ins, new)
        marks = np.insert(marks, ins, False)
        keep = np.insert(keep, ins, True)
        words, marks = words[keep], marks[keep]
    elif kind == 2:  # a rewritten span plus a moved paragraph
        start = int(rng.integers(0, max(1, n - k)))
        span = len(words[start : start + k])
        words[start : start + span] = vocab[rng.integers(len(vocab), size=span)]
        if len(breaks):
            cut = breaks[int(rng.integers(len(breaks)))]
            words = np.concatenate([words[cut:], words[:cut]])
            marks = np.concatenate([marks[cut:], marks[:cut]])
            marks[n - cut] = True
            marks[0] = False
    elif rng.random() < 0.5:  # truncation
        words, marks = words[: max(1, n - k)], marks[: max(1, n - k)]
    else:  # extension by another document's words
        extra = " ".join(donor).split()[:k]
        words = np.concatenate([words, np.array(extra, dtype=object)])
        marks = np.concatenate([marks, [True] + [False] * (len(extra) - 1)])[: len(words)]
    out, current = [], []
    for w, m in zip(words.tolist(), marks.tolist(), strict=True):
        if m and current:
            out.append(" ".join(current))
            current = []
        current.append(w)
    if current:
        out.append(" ".join(current))
    return out


def build(
    n: int,
    seed: int = 0,
    dup_fraction: float = 0.1,
    measure: bool = True,
    sdists: Path | None = None,
) -> LabelledProse:
    """`n` documents, `dup_fraction` of them labelled edited copies, from the installed packages
    and (with `sdists`, their cache folder) the pinned sdists' documentation."""
    from fakes.corpus import jaccard

    rng = np.random.default_rng(seed)
    files = source_files(sdists)
    docs, owners = _documents(files, rng)
    n_dup = round(n * dup_fraction)
    n_orig = n - n_dup
    if len(docs) < n_orig:
        raise SystemExit(
            f"the sources give {len(docs):,} documents, fewer than the {n_orig:,} originals "
            f"asked for; lower --n{'' if sdists else ' or leave out --no-sdists'}"
        )
    chosen = np.sort(rng.choice(len(docs), size=n_orig, replace=False))
    originals = [docs[i] for i in chosen.tolist()]
    owners = [owners[i] for i in chosen.tolist()]
    vocab_words = sorted({w for d in originals[:2000] for p in d for w in p.split()})
    vocab = np.array(vocab_words, dtype=object)
    texts = ["\n\n".join(d) for d in originals]
    pairs: list[tuple[int, int]] = []
    for s in rng.choice(n_orig, size=n_dup, replace=False).tolist():
        rate = float(rng.uniform(0.0, 0.3)) ** 1.3
        donor = originals[int(rng.integers(n_orig))]
        copy = _edit(originals[s], rate, rng, vocab, donor)
        pairs.append((s, len(texts)))
        texts.append("\n\n".join(copy))
        owners.append(owners[s])
    perm = rng.permutation(len(texts))
    where = np.empty_like(perm)
    where[perm] = np.arange(len(perm))
    texts = [texts[i] for i in perm]
    owners = [owners[i] for i in perm]
    pairs = [(int(where[a]), int(where[b])) for a, b in pairs]
    jac = np.array(
        [jaccard(texts[a], texts[b]) if measure else np.nan for a, b in pairs], dtype=np.float64
    )
    meta = {name: (version, licence) for name, version, licence, _ in files}
    sources: dict[str, dict] = {}
    for name in owners:
        version, licence = meta[name]
        entry = sources.setdefault(name, {"version": version, "licence": licence, "documents": 0})
        entry["documents"] += 1
    return LabelledProse(texts=texts, pairs=pairs, jaccard=jac, sources=sources)


def save(corpus: LabelledProse, out: Path, settings: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"text": corpus.texts}), out / "documents.parquet")
    a, b = zip(*corpus.pairs, strict=True) if corpus.pairs else ((), ())
    pq.write_table(
        pa.table({"a": list(a), "b": list(b), "jaccard": corpus.jaccard}), out / "pairs.parquet"
    )
    (out / "sources.json").write_text(json.dumps(corpus.sources, indent=1, sort_keys=True))
    (out / "settings.json").write_text(json.dumps(settings, sort_keys=True))


def load_or_build(
    folder: Path,
    n: int,
    seed: int = 0,
    dup_fraction: float = 0.1,
    sdists: Path | None = SDIST_CACHE,
) -> LabelledProse:
    """The corpus saved in `folder` by these settings, package versions and pinned sdists, or a
    new one. `sdists`: the sdists' cache folder; None leaves them out."""
    import pyarrow.parquet as pq

    settings = {"n": n, "seed": seed, "dup_fraction": dup_fraction, "packages": _versions()}
    settings["builder"] = BUILDER
    settings["sdists"] = ["|".join(p) for p in prose_sdists.pins()] if sdists else []
    saved = folder / "settings.json"
    if saved.exists() and json.loads(saved.read_text()) == settings:
        texts = pq.read_table(folder / "documents.parquet").column("text").to_pylist()
        pairs = pq.read_table(folder / "pairs.parquet")
        return LabelledProse(
            texts=texts,
            pairs=list(zip(pairs["a"].to_pylist(), pairs["b"].to_pylist(), strict=True)),
            jaccard=pairs["jaccard"].to_numpy(),
            sources=json.loads((folder / "sources.json").read_text()),
        )
    corpus = build(n, seed, dup_fraction, sdists=sdists)
    save(corpus, folder, settings)
    return corpus


def _distributions() -> dict[str, importlib.metadata.Distribution]:
    """The installed dependency closure of this project with its `dev` extra (what `make env`
    installs, pinned by requirements/cpu.txt), this project itself left out: its own text is not
    held out, and packages installed beside it (the `bench` extra) do not change the corpus."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo: list[tuple[str, tuple[str, ...]]] = [(OWN, ("dev",))]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in found:
            continue
        try:
            found[key] = dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in extras or ("",)]
            if req.marker is None or any(req.marker.evaluate(e) for e in envs):
                todo.append((req.name, tuple(req.extras)))
    del found[canonicalize_name(OWN)]
    return found


def _versions() -> str:
    found = sorted(f"{name}=={d.version}" for name, d in _distributions().items())
    return "|".join(found) + f"|python=={sys.version.split()[0]}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=DEFAULT_N, help="documents (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dup-fraction", type=float, default=0.1)
    ap.add_argument("--out", type=Path, required=True, help="folder for the files")
    ap.add_argument(
        "--sdists",
        type=Path,
        default=SDIST_CACHE,
        help="cache folder of the pinned sdists (bench/prose-sources.txt), downloaded there with "
        "pip where missing (default: %(default)s)",
    )
    ap.add_argument(
        "--no-sdists", action="store_true", help="the installed packages' text only (~6,700 docs)"
    )
    args = ap.parse_args()
    sdists = None if args.no_sdists else args.sdists
    corpus = load_or_build(args.out, args.n, args.seed, args.dup_fraction, sdists)
    words = np.mean([len(t.split()) for t in corpus.texts])
    print(
        f"{len(corpus.texts):,} documents, {words:.0f} words on average, {len(corpus.pairs):,} "
        f"labelled pairs ({(corpus.jaccard >= 0.8).sum():,} with J>=0.8, "
        f"{(corpus.jaccard < 0.5).sum():,} with J<0.5), from {len(corpus.sources)} sources"
    )


if __name__ == "__main__":
    main()
