"""Read what the report shows: table cells by their `data-*` attributes, from the DOM the browser
rendered, and whether a screenshot has anything on it."""

from __future__ import annotations

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


def not_blank(png: Path) -> bool:
    """More than a page of one colour: many distinct colours, most pixels not background."""
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    background = max(colours)[0] if colours else 0
    return len(colours) > 50 and background < 0.97 * image.width * image.height
