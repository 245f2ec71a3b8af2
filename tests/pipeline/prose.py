"""Measures of how a generated document reads, used by tests/pipeline/test_composer_prose.py.

- copied share: the fraction of a document's words that lie inside a span of at least
  `SPAN` consecutive words that also occurs in the spec (case-folded, punctuation dropped);
- grammar slips: "a" before a vowel sound, a section slug in the prose, a doubled word, a
  sentence that starts lowercase after a full stop;
- show or quote: a document *shows* the behaviour when the model speaks in a dialogue line or
  a quoted reply (first person, not spec text); it *quotes* when a spec sentence of at least
  `SPAN` words stands inside quotation marks.

Run it on corpora to print the figures: `python tests/pipeline/prose.py SPEC.md DOCS.parquet ...`
(pairs of a spec and its generate-stage documents).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SPAN = 8
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# "a" before a vowel sound: a vowel letter, except the letters that sound like "you"/"one"
_A_VOWEL = re.compile(r"\b[Aa] (?!(?:uni|use|usu|uti|eu|one|once|U\.S)\w*)([aeiouAEIOU]\w*)")
# (an acronym read letter by letter, "an FAQ", is not a slip)
_AN_CONSONANT = re.compile(
    r"\b[Aa]n (?!(?:hour|honest|honou?r|heir)\w*)(?![A-Z]{2})([b-df-hj-np-tv-zB-DF-HJ-NP-TV-Z]\w*)"
)
_DOUBLED = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_LOWER_AFTER_STOP = re.compile(r"(?<![A-Za-z]\.[A-Za-z])(?<!\be\.g)(?<!\bi\.e)\. ([a-z]\w*)")
# a section title used as a noun where it does not fit ("approaches how fear distorts ...")
_TITLE_AS_NOUN = re.compile(
    r"\b(?:approaches|treats|handles|concerns|raised) (?:how|why|what|when|whether)\b"
    r"|\b(?:about|on|concerns|approaches|treats|handles) overview\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“]([^\"”]+)[\"”]")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def spec_ngrams(spec_text: str, n: int = SPAN) -> set[tuple[str, ...]]:
    w = words(spec_text)
    return {tuple(w[i : i + n]) for i in range(len(w) - n + 1)}


def copied_share(doc: str, grams: set[tuple[str, ...]], n: int = SPAN) -> float:
    """Share of the document's words covered by an n-gram that the spec also contains."""
    w = words(doc)
    if not w:
        return 0.0
    covered = [False] * len(w)
    for i in range(len(w) - n + 1):
        if tuple(w[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(w)


def grammar_slips(doc: str, slugs: set[str]) -> list[str]:
    """Each slip as `kind: excerpt`; an empty list for a clean document."""
    slips = [f"a+vowel: a {m.group(1)}" for m in _A_VOWEL.finditer(doc)]
    slips += [f"an+consonant: an {m.group(1)}" for m in _AN_CONSONANT.finditer(doc)]
    slips += [f"doubled: {m.group(0)}" for m in _DOUBLED.finditer(doc) if not m.group(1).isdigit()]
    slips += [f"lowercase after stop: . {m.group(1)}" for m in _LOWER_AFTER_STOP.finditer(doc)]
    slips += [f"title as noun: {m.group(0)}" for m in _TITLE_AS_NOUN.finditer(doc)]
    low = doc.lower()
    slips += [f"slug: {s}" for s in slugs if "-" in s and re.search(rf"\b{re.escape(s)}\b", low)]
    return slips


_ORPHAN = re.compile(r"^(?:It|Its|This|That|These|Those|They|Their|Such|But|And|So|Also|Then)\b")


def orphan_quotes(doc: str, grams: set[tuple[str, ...]]) -> list[str]:
    """Quoted spec sentences that open with a pronoun or connective pointing back at a
    sentence the reader never saw ("It does not ...", "But ...")."""
    return [q for q in _QUOTED.findall(doc) if _ORPHAN.match(q) and copied_share(q, grams) > 0]


def quotes_spec(doc: str, grams: set[tuple[str, ...]], n: int = SPAN) -> bool:
    """A spec passage of at least n words inside quotation marks."""
    return any(copied_share(q, grams, n) > 0 for q in _QUOTED.findall(doc))


def shows(doc: str, model: str) -> bool:
    """The model acts in the document: a dialogue line `MODEL:` or a reply `MODEL ...: "..."`
    in the first person (the spec speaks of the model in the third person, so a first-person
    reply is never a quotation of it)."""
    said = re.findall(rf"^{re.escape(model)}:\s*(.+)$", doc, re.MULTILINE)
    said += re.findall(rf"\b{re.escape(model)}\b[^\"\n]{{0,40}}:\s*\"([^\"]+)\"", doc)
    return any(re.search(r"\b(I|I'm|I'll|I'd|I've|my|me)\b", s) for s in said)


def measure(spec_path: Path, parquet: Path) -> dict:
    from pipeline.record import read_documents
    from pipeline.spec.decompose import decompose
    from pipeline.spec.parse import load_spec

    spec = load_spec(spec_path)
    grams = spec_ngrams(
        "\n".join([spec.overview, *(f"{s.title}\n{s.text}" for s in spec.sections)])
    )
    slugs = {s.id for s in decompose(spec)}
    rows = read_documents(parquet).to_pylist()
    docs = [r["text"] for r in rows]
    shares = sorted(copied_share(d, grams) for d in docs)
    slips = [s for r in rows for s in grammar_slips(f"{r['text']}\n{r['idea']}", slugs)]
    return {
        "documents": len(docs),
        "copied_mean": sum(shares) / len(shares),
        "copied_max": shares[-1],
        "copied_p90": shares[int(0.9 * (len(shares) - 1))],
        "slips": len(slips),
        "slip_examples": slips[:5],
        "orphans": sum(len(orphan_quotes(d, grams)) for d in docs),
        "show": sum(shows(d, spec.model_name) for d in docs) / len(docs),
        "quote": sum(quotes_spec(d, grams) for d in docs) / len(docs),
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    for spec_arg, parquet_arg in zip(args[::2], args[1::2], strict=True):
        m = measure(Path(spec_arg), Path(parquet_arg))
        print(
            f"{Path(spec_arg).stem:22} docs={m['documents']:4} copied mean={m['copied_mean']:.3f}"
            f" p90={m['copied_p90']:.3f} max={m['copied_max']:.3f} slips={m['slips']:4}"
            f" orphans={m['orphans']:3} show={m['show']:.2f} quote={m['quote']:.2f}"
            f" e.g. {m['slip_examples'][:3]}"
        )
