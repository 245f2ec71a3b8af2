"""Read what the report shows: table cells by their `data-*` attributes, from the DOM the browser
rendered, and whether a screenshot has anything on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[dict[str, str], str]] = []
        self._open: list[tuple[dict[str, str], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k: v or "" for k, v in attrs if k.startswith("data-")}
        if tag in ("td", "span") and data:
            self._open.append((data, []))

    def handle_data(self, data: str) -> None:
        for _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "span") and self._open:
            attrs, text = self._open.pop()
            self.cells.append((attrs, "".join(text).strip()))


def _cells(dom: str) -> list[tuple[dict[str, str], str]]:
    parser = _Cells()
    parser.feed(dom)
    return parser.cells


def shown_numbers(dom: str) -> dict[tuple[str, str], str]:
    """(spec, funnel step) -> documents, as shown in the corpus tables."""
    return {(a["data-spec"], a["data-step"]): text for a, text in _cells(dom) if "data-step" in a}


def shown_cells(dom: str) -> dict[tuple[str, str, str], str]:
    """(experiment group, arm, metric) -> the `mean ± SEM (seeds)` text shown."""
    return {
        (a["data-group"], a["data-arm"], a["data-metric"]): text
        for a, text in _cells(dom)
        if "data-metric" in a
    }


def shown_paper(dom: str) -> dict[tuple[str, str, str], str]:
    """(experiment group, arm, metric) -> the paper's figure shown in the paper's table."""
    return {
        (a["data-group"], a["data-arm"], a["data-paper"]): text
        for a, text in _cells(dom)
        if "data-paper" in a
    }


def shown_corpus(dom: str, what: str) -> dict[tuple[str, str], str]:
    """(spec, the cell's `data-WHAT`) -> text: `drop` (stage/reason) or `what` (`statements`)."""
    key = f"data-{what}"
    return {(a["data-spec"], a[key]): text for a, text in _cells(dom) if key in a}


@dataclass
class Figure:
    attrs: dict[str, str]
    """The `data-*` attributes of the figure's `<div>` (`data-figure`: its kind)."""
    text: list[str] = field(default_factory=list)
    """Every text node drawn inside it (titles, legend entries, axis labels), in order."""
    drawn: bool = False
    """plotly drew an SVG in it (class `main-svg`)."""


class _Figures(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: list[Figure] = []
        self._depth = 0  # open <div>s inside the current figure
        self._script = False  # text of a script is code, not something drawn

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict((k, v or "") for k, v in attrs)
        self._script = tag in ("script", "style")
        if self._depth:
            self._depth += tag == "div"
            if "main-svg" in found.get("class", "").split():
                self.figures[-1].drawn = True
        elif tag == "div" and "data-figure" in found:
            self.figures.append(Figure({k: v for k, v in found.items() if k.startswith("data-")}))
            self._depth = 1

    def handle_data(self, data: str) -> None:
        if self._depth and not self._script and data.strip():
            self.figures[-1].text.append(data.strip())

    def handle_endtag(self, tag: str) -> None:
        self._script = False
        if self._depth and tag == "div":
            self._depth -= 1


def shown_figures(dom: str) -> list[Figure]:
    """The report's figures (`<div data-figure=...>`) with the text plotly drew in them."""
    parser = _Figures()
    parser.feed(dom)
    return parser.figures


def not_blank(png: Path) -> bool:
    """More than a page of one colour: many distinct colours, most pixels not background."""
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    background = max(colours)[0] if colours else 0
    return len(colours) > 50 and background < 0.97 * image.width * image.height
