"""Parse a Model Spec: Markdown with YAML front matter, sections by headings, rules by id.

Format (see README, "Writing a spec"):
- front matter keys `name`, `title`, `kind` (values | rules), `model_name`, `provider_name`,
  optional `description` and `license` (the corpus's licence, shown on its data card);
  `name` must equal the file name;
- sections are headings; a heading may end in ` {#ID}` to give an explicit id, otherwise the id is
  the path of heading slugs (`likes/brie`), so a repeated subheading under different parents does
  not collide and editing one section never changes another's id;
- a rule is a list item `- **SP1.** text`;
- `{model_name}` and `{provider_name}` are rendered; any other `{...}` is an error;
- text before the first heading, or a section titled Overview, is the overview.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.errors import InputError
from pipeline.io import sha256_text

MAX_BYTES = 1_000_000
REQUIRED = ("name", "title", "kind", "model_name", "provider_name")
OPTIONAL = ("description", "license")
KINDS = ("values", "rules")
PLACEHOLDERS = ("model_name", "provider_name")

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(?:\{#([A-Za-z0-9][A-Za-z0-9_.-]*)\})?\s*$")
RULE = re.compile(r"^\s*[-*]\s+\*\*([A-Za-z][A-Za-z0-9_-]*)\.?\*\*\s+(.+?)\s*$")
BRACES = re.compile(r"\{([^{}\n]*)\}")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class SpecError(InputError):
    """A spec that cannot be used; the message gives file, line and fix."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str):
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {problem}; {fix}")


@dataclass(frozen=True)
class Rule:
    id: str
    text: str
    section_id: str
    line: int


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    level: int
    line: int
    text: str
    """The section's own rendered text (up to the next heading), without the heading."""

    @property
    def hash(self) -> str:
        return sha256_text(f"{self.id}\n{self.title}\n{self.text}")[:16]


@dataclass(frozen=True)
class Spec:
    path: Path
    name: str
    title: str
    kind: str
    model_name: str
    provider_name: str
    description: str
    overview: str
    sections: list[Section] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    content_hash: str = ""
    license: str = ""

    def section(self, section_id: str) -> Section:
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)

    @property
    def words(self) -> int:
        return len(self.overview.split()) + sum(
            len(s.title.split()) + len(s.text.split()) for s in self.sections
        )


def slug(title: str) -> str:
    """`Gruyère` -> `gruyere`: accents folded to ASCII, other runs of symbols to one '-'."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    s = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return s or "section"


def load_spec(path: str | Path) -> Spec:
    """Parse and validate one spec file; raise SpecError naming the file, line and fix."""
    path = Path(path)
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.md"))
        close = difflib.get_close_matches(path.stem, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listing = f"known specs in {path.parent}: {', '.join(known)}" if known else "check the path"
        raise SpecError(path, None, "no such spec file", hint + listing)
    data = path.read_bytes()
    if len(data) > MAX_BYTES:
        raise SpecError(
            path,
            None,
            f"file is {len(data):,} bytes, over the {MAX_BYTES:,}-byte limit",
            "a spec is a readable document; split it or trim it",
        )
    if b"\x00" in data:
        raise SpecError(path, None, "binary file (contains NUL bytes)", "a spec is UTF-8 Markdown")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError(
            path, line, f"not valid UTF-8 (byte {err.start})", "save the file as UTF-8"
        ) from None
    if not text.strip():
        raise SpecError(path, None, "empty file", "write front matter and a body (see README)")
    return parse_spec(text.replace("\r\n", "\n"), path)


def parse_spec(text: str, path: Path) -> Spec:
    meta, body, body_line = _front_matter(text, path)
    body = _render(body, meta, path, body_line)
    overview, sections, rules = _sections(body, path, body_line)
    return Spec(
        path=path,
        name=meta["name"],
        title=meta["title"],
        kind=meta["kind"],
        model_name=meta["model_name"],
        provider_name=meta["provider_name"],
        description=meta.get("description", ""),
        license=meta.get("license", ""),
        overview=overview,
        sections=sections,
        rules=rules,
        content_hash=sha256_text(text),
    )


def _front_matter(text: str, path: Path) -> tuple[dict[str, str], str, int]:
    fix = (
        "start the file with a `---` line, YAML keys name/title/kind/model_name/provider_name, "
        "then a `---` line"
    )
    if not text.startswith("---\n"):
        raise SpecError(path, 1, "no YAML front matter", fix)
    end = text.find("\n---\n", 3)
    if end < 0 and text.endswith("\n---"):
        end = len(text) - 4
    if end < 0:
        raise SpecError(path, 1, "front matter is not closed by a `---` line", fix)
    head = text[4 : end + 1]
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as err:
        # where the broken construct starts (an unclosed bracket), else where parsing failed
        mark = getattr(err, "context_mark", None) or getattr(err, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        raise SpecError(
            path, line, f"malformed YAML front matter ({err})", "fix the YAML"
        ) from None
    if not isinstance(meta, dict):
        raise SpecError(path, 2, "front matter is not a mapping of keys", fix)
    lines = {str(k): i + 2 for i, ln in enumerate(head.splitlines()) for k in [ln.split(":")[0]]}
    for key in meta:
        if key not in REQUIRED + OPTIONAL:
            raise SpecError(
                path,
                lines.get(str(key)),
                f"unknown front-matter key {key!r}",
                f"known keys: {', '.join(REQUIRED + OPTIONAL)}",
            )
    for key in REQUIRED:
        if key not in meta or not isinstance(meta[key], str) or not meta[key].strip():
            raise SpecError(
                path,
                lines.get(key, 1),
                f"front-matter key {key!r} is missing or not a string",
                f"add `{key}: ...` to the front matter",
            )
    for key in OPTIONAL:
        if key in meta and not isinstance(meta[key], str):
            raise SpecError(path, lines.get(key), f"`{key}` must be a string", "quote it")
    if meta["kind"] not in KINDS:
        raise SpecError(
            path,
            lines.get("kind"),
            f"kind {meta['kind']!r} is not one of {KINDS}",
            "use `kind: values` or `kind: rules`",
        )
    name = meta["name"]
    if "/" in name or "\\" in name or ".." in name or not NAME.match(name):
        raise SpecError(
            path,
            lines.get("name"),
            f"spec name {name!r} is not a plain name",
            "use lowercase letters, digits, '_' and '-' only (no path separators or '..')",
        )
    if name != path.stem:
        raise SpecError(
            path,
            lines.get("name"),
            f"name {name!r} differs from the file name {path.stem!r}",
            f"rename the file to {name}.md or set `name: {path.stem}`",
        )
    body_line = head.count("\n") + 3
    return meta, text[end + 5 :], body_line


def _render(body: str, meta: dict[str, str], path: Path, body_line: int) -> str:
    for i, line in enumerate(body.splitlines()):
        if HEADING.match(line):
            line = re.sub(r"\{#[^{}]*\}\s*$", "", line)
        for m in BRACES.finditer(line):
            if m.group(1) not in PLACEHOLDERS:
                close = difflib.get_close_matches(m.group(1).strip(), PLACEHOLDERS, n=1)
                fix = (
                    f"did you mean {{{close[0]}}}?"
                    if close
                    else "only {model_name} and {provider_name} are rendered; for literal "
                    "braces, reword without them"
                )
                raise SpecError(path, body_line + i, f"unknown placeholder {m.group(0)!r}", fix)
    for key in PLACEHOLDERS:
        body = body.replace("{" + key + "}", meta[key])
    return body


def _sections(body: str, path: Path, body_line: int) -> tuple[str, list[Section], list[Rule]]:
    overview: list[str] = []
    sections: list[Section] = []
    rules: list[Rule] = []
    stack: list[tuple[int, str]] = []  # (level, slug) of the open headings
    current: dict | None = None
    seen: dict[str, int] = {}

    def close() -> None:
        if current is None:
            return
        text = "\n".join(current["lines"]).strip()
        sections.append(
            Section(current["id"], current["title"], current["level"], current["line"], text)
        )

    for i, line in enumerate(body.splitlines()):
        lineno = body_line + i
        m = HEADING.match(line)
        if m:
            close()
            level, title, explicit = len(m.group(1)), m.group(2).strip(), m.group(3)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, slug(title)))
            sid = explicit or "/".join(s for _, s in stack)
            if sid in seen:
                raise SpecError(
                    path,
                    lineno,
                    f"duplicate section id {sid!r} (first at line {seen[sid]})",
                    "give one heading a different title or an explicit `{#id}`",
                )
            seen[sid] = lineno
            current = {"id": sid, "title": title, "level": level, "line": lineno, "lines": []}
            continue
        r = RULE.match(line)
        if r:
            rid = r.group(1)
            if rid in seen:
                raise SpecError(
                    path,
                    lineno,
                    f"duplicate id {rid!r} (first at line {seen[rid]})",
                    "give each rule a unique id",
                )
            seen[rid] = lineno
            rules.append(Rule(rid, r.group(2), current["id"] if current else "overview", lineno))
        (current["lines"] if current else overview).append(line)
    close()
    over = "\n".join(overview).strip()
    rest = []
    for s in sections:
        if s.title.lower() == "overview" and s.level <= 2:
            over = "\n\n".join(t for t in (over, s.text) if t)
        else:
            rest.append(s)
    return over, rest, rules
