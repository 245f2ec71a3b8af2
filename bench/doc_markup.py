"""The prose blocks of a reStructuredText or Markdown documentation file.

`rst_blocks` and `markdown_blocks` return the file's text with what is not prose taken out, its
blocks separated by blank lines, for `real_prose._prose_paragraphs` to select paragraphs from:

- reStructuredText (Sphinx's `.rst` and Django's `.txt`): section titles and transitions go;
  a directive's body goes unless the directive holds prose (admonitions, `versionadded`, object
  descriptions such as `.. function::` whose signature line goes and whose text stays, `only`,
  `glossary`, tabs); so do `.. code-block::`, `.. literalinclude::`, tables, `toctree`, `auto*`,
  images and every directive not named as prose. A literal block after `::` goes and the `::`
  with it; comments, link targets, substitution definitions and footnotes go; simple and grid
  tables go; list markers (`-`, `*`, `#.`, `1.`) are taken off the line. Sphinx roles
  (:func:`name`) and inline literals stay: they are how technical prose is written.
- Markdown: fenced code (``` and ~~~, MyST directives with them), code indented after a blank
  line, headings, tables, HTML lines and comments, front matter and link reference lines go;
  `[text](url)` becomes `text` and images go.

Where a code block or table was taken out, a line `::` stands in its place: a block of markup
alone, which the paragraph selection drops together with the sentence that led into it ("For
example:"), as it does in docstrings.
"""

from __future__ import annotations

import re

GONE = "::"
"""What stands where a code block or table was: markup alone, so the paragraph selection drops
it and an unfinished sentence before it."""

_ADMONITIONS = "note warning tip important hint caution attention danger error seealso"
# Directives whose body is prose: admonitions, version notes, object descriptions (their text
# describes the object; the signature on the directive's line goes), and containers.
_PROSE = (
    _ADMONITIONS + " admonition topic sidebar versionadded versionchanged deprecated versionremoved"
    " deprecated-removed only ifconfig glossary container tab tabs tab-item tab-set dropdown card"
    " rst-class hlist compound epigraph highlights pull-quote rubric centered function class"
    " method attribute data exception module currentmodule decorator classmethod staticmethod"
    " property describe object setting django-admin django-admin-option templatetag"
    " templatefilter fieldlookup confval envvar option program cmdoption event"
)
_PROSE_DIRECTIVES = frozenset(_PROSE.split())
_ARGUMENT_PROSE = frozenset(_ADMONITIONS.split())  # their argument on the directive's line too
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+(?:[\w-]+:)?([\w-]+)::(.*)$")
_EXPLICIT = re.compile(r"^(\s*)\.\.(\s|$)")  # comments, targets, substitutions, footnotes
_OPTION = re.compile(r"^\s*:[\w -]+:")
_RULE = re.compile(r"""^\s*([=\-~^*#+`'"._:<>!$%&,/;?@\\|])\1{2,}\s*$""")
_SIMPLE_TABLE = re.compile(r"^\s*=+( +=+)+\s*$")
_GRID = re.compile(r"^\s*\+[-=+]+\+\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+\u2022]|#\.|\d{1,3}[.)]|\(\d{1,3}\)|[a-z][.)])\s+(?=\S)")

_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_LINK_REF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$|^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
_HTML = re.compile(r"^\s*</?[A-Za-z!][^>]*>?")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _body_end(lines: list[str], start: int, indent: int) -> int:
    """The index after the block that begins at `start`: its lines are blank or indented more
    than `indent`; trailing blank lines are left to the caller."""
    end = start
    i = start
    while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
        if lines[i].strip():
            end = i + 1
        i += 1
    return end


def rst_blocks(text: str) -> str:
    """The reStructuredText file's prose (see the module's docstring)."""
    lines = text.expandtabs(8).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if not line.strip():
            out.append("")
            i += 1
        elif m := _DIRECTIVE.match(line):
            indent, name, argument = len(m.group(1)), m.group(2).lower(), m.group(3).strip()
            end = _body_end(lines, i + 1, indent)
            if name in _PROSE_DIRECTIVES:
                i += 1
                while i < end and _OPTION.match(lines[i]):
                    i += 1  # the directive's options (`:module:`, `:class: dropdown`)
                out.append("")
                if name in _ARGUMENT_PROSE and argument:
                    out.append(" " * (indent + 3) + argument)
            else:
                out.extend(["", GONE, ""])
                i = end
        elif _EXPLICIT.match(line):
            i = _body_end(lines, i + 1, _indent(line))
        elif _SIMPLE_TABLE.match(line) or _GRID.match(line):
            i = _table_end(lines, i)
            out.extend(["", GONE, ""])
        elif _RULE.match(line):
            i += 1  # a transition or a title's overline
        elif _RULE.match(nxt) and _indent(line) == 0 and len(nxt.strip()) >= len(line.strip()) - 2:
            i += 2  # a section title and its underline
        else:
            i = _paragraph(lines, i, out)
    return "\n".join(out)


def _paragraph(lines: list[str], i: int, out: list[str]) -> int:
    """Copy the paragraph at `i` (list markers taken off); a literal block after `::` goes."""
    start_indent = _indent(lines[i])
    para: list[str] = []
    while i < len(lines) and lines[i].strip() and not _DIRECTIVE.match(lines[i]):
        para.append(_BULLET.sub(r"\1", lines[i]))
        i += 1
    last = para[-1].rstrip()
    if last.endswith("::"):
        last = last[:-2].rstrip()
        if last and not last.endswith(":"):
            # "Example::" reads "Example:"; "text ::" reads "text"
            last += ":" if not para[-1].rstrip()[:-2].endswith(" ") else ""
        para[-1] = last
        out.extend(p for p in para if p.strip())
        out.extend(["", GONE, ""])
        return _body_end(lines, i, start_indent)
    out.extend(para)
    return i


def _table_end(lines: list[str], i: int) -> int:
    """The index after a simple table (between `===  ===` rules) or a grid table at `i`."""
    if _GRID.match(lines[i]):
        while i < len(lines) and lines[i].strip().startswith(("+", "|")):
            i += 1
        return i
    i += 1
    while i < len(lines):
        if _SIMPLE_TABLE.match(lines[i]) and (i + 1 == len(lines) or not lines[i + 1].strip()):
            return i + 1
        i += 1
    return i


def markdown_blocks(text: str) -> str:
    """The Markdown file's prose (see the module's docstring)."""
    lines = text.expandtabs(4).splitlines()
    out: list[str] = []
    i = 0
    listing = False  # the last text line was a list item or its continuation
    if lines and lines[0].strip() == "---":  # front matter
        close = next((j for j in range(1, len(lines)) if lines[j].strip() == "---"), 0)
        i = close + 1
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        previous_blank = not out or not out[-1].strip()
        if not line.strip():
            out.append("")
            i += 1
        elif fence := _FENCE.match(line):
            mark = fence.group(1)
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(mark):
                i += 1
            i += 1
            out.extend(["", GONE, ""])
        elif line.lstrip().startswith("<!--"):
            while i < len(lines) and "-->" not in lines[i]:
                i += 1
            i += 1
        elif _indent(line) >= 4 and previous_blank and not listing:
            i = _body_end(lines, i, 3)
            out.extend(["", GONE, ""])
        elif _TABLE_ROW.match(line):
            while i < len(lines) and lines[i].strip() and "|" in lines[i]:
                i += 1
            out.extend(["", GONE, ""])
        elif _HEADING.match(line) or _LINK_REF.match(line) or _HTML.match(line):
            i += 1
        elif _SETEXT.match(nxt) and previous_blank:
            i += 2
        elif _SETEXT.match(line) and line.strip().startswith("---"):
            i += 1  # a thematic break
        else:
            listing = bool(_BULLET.match(line)) or (listing and _indent(line) > 0)
            text_line = _LINK.sub(r"\1", _IMAGE.sub("", line))
            out.append(_BULLET.sub(r"\1", text_line))
            i += 1
    return "\n".join(out)
