"""The real-prose corpus' selection of prose from reStructuredText and Markdown documentation
(bench/doc_markup.py, bench/real_prose.py) and the pinned sdists' file (bench/prose_sdists.py),
on small literal inputs; nothing is downloaded."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    """The bench scripts, imported by name as they import each other."""
    monkeypatch.syspath_prepend(str(BENCH))
    names = ("doc_markup", "prose_sdists", "real_prose")
    return {n: importlib.import_module(n) for n in names}


def _rst(bench: dict[str, ModuleType], text: str) -> list[str]:
    return bench["real_prose"]._prose_paragraphs(bench["doc_markup"].rst_blocks(text))


def _md(bench: dict[str, ModuleType], text: str) -> list[str]:
    return bench["real_prose"]._prose_paragraphs(bench["doc_markup"].markdown_blocks(text))


RST = """\
.. _intro-label:

==========
Installing
==========

The :func:`connect` function opens a connection to the database and returns a
``Connection`` object that the rest of the API uses.

.. code-block:: python
   :caption: example

   engine = create_engine("sqlite://")
   with engine.connect() as conn:
       conn.execute(text("select 1"))

Section title
-------------

.. note:: Connections are pooled by default, so closing one returns it to the pool.

.. versionadded:: 2.0
   The pool now checks a connection before handing it out again to a caller.

The engine keeps its pool for as long as it lives in the process. An example::

    pool = QueuePool(creator, pool_size=5)

=====  ==========
name   meaning of the value in the table
=====  ==========
size   how many connections the pool keeps open
=====  ==========

- A list item that reads as a whole sentence about the pool and its size.
- Another list item that says when the pool discards a stale connection.

.. function:: dispose(close=True)

   Dispose of the connection pool used by this engine and start a new one.

.. literalinclude:: ../examples/pool.py
   :lines: 1-20

.. |subst| replace:: the text of a substitution definition is never prose here
"""


def test_rst_keeps_prose_and_leaves_out_code_tables_and_titles(bench) -> None:
    assert _rst(bench, RST) == [
        "The :func:`connect` function opens a connection to the database and returns a "
        "``Connection`` object that the rest of the API uses.",
        "Connections are pooled by default, so closing one returns it to the pool.",
        "The pool now checks a connection before handing it out again to a caller.",
        # the sentence that led into the literal block goes with it, the rest stays
        "The engine keeps its pool for as long as it lives in the process.",
        "A list item that reads as a whole sentence about the pool and its size. Another list "
        "item that says when the pool discards a stale connection.",
        "Dispose of the connection pool used by this engine and start a new one.",
    ]


def test_rst_grid_table_field_list_and_doctest_are_left_out(bench) -> None:
    text = """\
+------------------+---------------------------------------------+
| option           | what the option does to the running server  |
+==================+=============================================+
| ``--reload``     | restarts the server when a source file changes |
+------------------+---------------------------------------------+

:Category: Structural Elements of the document tree
:Parent: the document element and every section element below it

A doctest shows the call and what it returns in the interpreter:

>>> add(1, 2)
3

The server reads its settings once, when it starts, and keeps them until it stops.
"""
    assert _rst(bench, text) == [
        "The server reads its settings once, when it starts, and keeps them until it stops."
    ]


MARKDOWN = """\
---
title: Front matter is not prose at all, whatever it says here
---

# Getting started with the command line tool

The tool reads a [configuration file](https://example.org/config) from the current folder
and ![logo](logo.png) writes its report next to it when the run ends.

```bash
tool run --config tool.toml --verbose --output report.json
```

| flag | what the flag does to the run when it is given |
|------|------|
| `-v` | prints every step of the run as it happens |

<!-- a comment that spans
two lines and is not part of the text -->

[configuration file]: https://example.org/config "reference"

Here is how to call it from a script:

    import tool
    tool.run(config="tool.toml")

1. First, install the tool with the package manager of your system.
2. Then run it once in an empty folder to write the default settings.
"""


def test_markdown_keeps_prose_and_leaves_out_code_tables_and_headings(bench) -> None:
    assert _md(bench, MARKDOWN) == [
        "The tool reads a configuration file from the current folder and writes its report "
        "next to it when the run ends.",
        "First, install the tool with the package manager of your system. Then run it once in "
        "an empty folder to write the default settings.",
    ]


def test_pins_are_checked_with_their_line(bench, tmp_path: Path) -> None:
    good = "a" * 64
    pins = tmp_path / "pins.txt"
    pins.write_text(
        f"# a comment\nfoo==1.0 --hash=sha256:{good}  # licence: MIT\n"
        f"bar==2.1 --hash=sha256:{good}\n"
    )
    assert bench["prose_sdists"].pins(pins) == [
        ("foo", "1.0", good, "MIT"),
        ("bar", "2.1", good, ""),
    ]
    pins.write_text(f"foo==1.0 --hash=sha256:{good}\nbar>=2 --hash=sha256:{good}\n")
    with pytest.raises(SystemExit, match=r"pins\.txt:2: expected `name==version"):
        bench["prose_sdists"].pins(pins)


def test_the_shipped_pins_parse(bench) -> None:
    found = bench["prose_sdists"].pins()
    assert len(found) == len({name for name, *_ in found}) >= 20


@pytest.mark.parametrize(
    ("member", "project", "chosen"),
    [
        ("Django-5.1.4/docs/topics/db/models.txt", "django", True),
        ("sphinx-9.0.4/doc/usage/quickstart.rst", "sphinx", True),
        ("proj-1.0/docs/index.md", "proj", True),
        ("proj-1.0/docs/requirements.txt", "proj", False),
        ("proj-1.0/docs/locale/fr/index.rst", "proj", False),
        ("proj-1.0/docs/html/_sources/index.rst.txt", "proj", False),
        ("pip-26.3/docs/html/getting-started.md", "pip", True),
        ("proj-1.0/src/proj/notes.rst", "proj", False),
        ("proj-1.0/README.rst", "proj", False),
        ("mercurial-7.2.4/mercurial/helptext/config.txt", "mercurial", True),
    ],
)
def test_doc_files_of_an_sdist(bench, member: str, project: str, chosen: bool) -> None:
    assert bench["prose_sdists"]._doc_member(member, project) is chosen
