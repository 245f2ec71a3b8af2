"""The report as one HTML file: plotly.js, styles and data inline, nothing fetched.

Figures get fixed element ids, so the same inputs give the same bytes, and sit in a `<div>` whose
`data-figure` (and `data-group` or `data-metric`) says what they show. Numbers shown in tables
carry `data-*` attributes naming what they are (spec and step, group, arm and metric), which is
how the browser tests check them against the metrics files.
"""

from __future__ import annotations

from html import escape

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pipeline.report import figures
from pipeline.report.corpus import CorpusView
from pipeline.report.experiments import ExperimentsView
from training.studies.compare import format_cell

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 24px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 2em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
.missing { background: #fff4e5; border-left: 4px solid #f58518; padding: 8px 12px; }
.sample { background: #f7f7f7; padding: 8px 12px; white-space: pre-wrap; font-size: 0.85em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
nav a { margin-right: 12px; }
"""


class Page:
    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.figures = 0

    def add(self, html: str) -> None:
        self.parts.append(html)

    def figure(self, fig: go.Figure, kind: str, **about: str) -> str:
        """The figure's HTML in a `<div data-figure=KIND data-ABOUT=...>`."""
        self.figures += 1
        attrs = "".join(f" data-{k}='{escape(v)}'" for k, v in {"figure": kind, **about}.items())
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"figure-{self.figures}",
            config={"displaylogo": False, "responsive": True},
        )
        return f"<div{attrs}>{html}</div>"

    def render(self) -> str:
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(self.title)}</title><style>{STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>\n"
            + "\n".join(self.parts)
            + "\n</body></html>\n"
        )


def corpus_section(page: Page, view: CorpusView) -> None:
    page.add(f"<h2 id='corpus-{view.spec}'>{escape(view.spec)}: {escape(view.title)}</h2>")
    if view.missing:
        page.add(
            f"<p class='missing'>Not built: {escape(', '.join(view.missing))}. Build with "
            f"<code>dvc repro</code> or fetch with <code>dvc pull</code>.</p>"
        )
    if view.funnel:
        rows = "".join(
            f"<tr><td>{escape(step)}</td>"
            f"<td data-spec='{view.spec}' data-step='{escape(step)}' data-what='documents'>"
            f"{docs:,}</td><td>{'' if tokens is None else f'{tokens:,}'}</td></tr>"
            for step, docs, tokens in view.funnel
        )
        page.add(
            "<table><tr><th>step</th><th>documents</th><th>tokens</th></tr>" + rows + "</table>"
        )
    drops = [(s, r, n) for s, reasons in view.drops.items() for r, n in reasons.items()]
    if drops:
        rows = "".join(
            f"<tr><td>{escape(s)}</td><td class='text'>{escape(r)}</td>"
            f"<td data-spec='{view.spec}' data-drop='{escape(s)}/{escape(r)}'>{n:,}</td></tr>"
            for s, r, n in drops
        )
        page.add(
            "<table><tr><th>stage</th><th>reason</th><th>dropped</th></tr>" + rows + "</table>"
        )
    elif view.drops:
        page.add("<p>No document was dropped by dedup or quality.</p>")
    if view.sections:
        empty = [s for s, n in view.sections.items() if n == 0]
        covered, total = view.statements
        page.add(
            f"<p>Coverage: {len(view.sections) - len(empty)} of {len(view.sections)} sections "
            f"and <span data-spec='{view.spec}' data-what='statements'>{covered} of {total}"
            "</span> statements have at least one document in the final corpus"
            + (f"; without documents: {escape(', '.join(empty))}" if empty else "")
            + ".</p>"
        )
    charts = []
    if view.funnel:
        charts.append(page.figure(figures.funnel(view), "funnel", spec=view.spec))
    if view.words:
        charts.append(page.figure(figures.lengths(view), "lengths", spec=view.spec))
    if view.doc_types:
        charts.append(page.figure(figures.doc_types(view), "doc-types", spec=view.spec))
    if view.sections:
        charts.append(page.figure(figures.sections(view), "sections", spec=view.spec))
    page.add("<div class='grid'>" + "".join(f"<div>{c}</div>" for c in charts) + "</div>")
    for s in view.samples:
        page.add(
            f"<h4>{escape(s['id'])} <small>(section {escape(s['section'])}, "
            f"{escape(s['doc_type'])}, {s['words']:,} words)</small></h4>"
            f"<div class='sample'>{escape(s['text'])}</div>"
        )


def experiments_section(page: Page, view: ExperimentsView) -> None:
    page.add("<h2 id='experiments'>Experiments</h2>")
    if view.missing:
        page.add(f"<p class='missing'>{escape(view.missing)}</p>")
        return
    metrics = sorted({m for g in view.groups for m, _ in g.cells})
    head = "".join(f"<th>{escape(m)}</th>" for m in metrics)
    rows = []
    for g in view.groups:
        arms = sorted(
            {a for _, a in g.cells}, key=lambda a: figures.ARMS.index(a) if a in figures.ARMS else 9
        )
        for arm in arms:
            cells = []
            for m in metrics:
                c = g.cells.get((m, arm))
                attrs = f"data-group='{escape(g.label)}' data-arm='{arm}' data-metric='{escape(m)}'"
                text = format_cell(c.mean, c.sem, c.seeds) if c else ""
                cells.append(f"<td {attrs}>{text}</td>")
            rows.append(
                f"<tr><td>{escape(g.label)}</td><td class='text'>{arm}</td>{''.join(cells)}</tr>"
            )
    page.add(
        "<p>Mean ± 1 SEM over seeds (number of seeds); each experiment group differs only in "
        "<code>train_seed</code>.</p>"
        f"<table><tr><th>experiment group</th><th>arm</th>{head}</tr>{''.join(rows)}</table>"
    )
    missing = [(g.label, g.missing) for g in view.groups if g.missing]
    for label, counts in missing:
        text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        page.add(f"<p class='missing'>{escape(label)}: {escape(text)} (not in the figures)</p>")
    labels = {g.label for g in view.groups}
    paper = [p for p in view.paper if p.label in labels]  # the groups this repository ran
    if paper:
        rows = "".join(
            f"<tr><td>{escape(p.label)}</td><td class='text'>{p.arm}</td>"
            f"<td>{escape(p.metric)}</td><td data-group='{escape(p.label)}' data-arm='{p.arm}' "
            f"data-paper='{escape(p.metric)}'>{p.value:.2f}</td>"
            f"<td class='text'>{escape(p.note)}</td></tr>"
            for p in paper
        )
        page.add(
            "<h3>The paper's figures</h3><table><tr><th>group</th><th>arm</th><th>metric</th>"
            f"<th>paper</th><th>note</th></tr>{rows}</table>"
        )
    for m in metrics:
        page.add(page.figure(figures.metric(view, m), "metric", metric=m))
    page.add("<h3>Training curves</h3>")
    for g in view.groups:
        if view.curves.get(g.label):
            page.add(page.figure(figures.curves(view, g), "curves", group=g.label))
        else:
            page.add(
                f"<p class='missing'>{escape(g.label)}: no training curve in the DVC cache "
                "(`dvc pull` the runs' metrics, or rerun them).</p>"
            )
