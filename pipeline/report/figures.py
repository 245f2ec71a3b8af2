"""The report's charts, as plotly figures (rendered by the plotly.js the page carries inline)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline.report.corpus import CorpusView
from pipeline.report.experiments import CURVE_STAGES, ExperimentsView
from training.studies.aggregate import Group

ARMS = ("base", "msm", "aft", "aft_only")
ARM_NAMES = {"base": "base", "msm": "MSM only", "aft": "MSM + AFT", "aft_only": "AFT only"}
ARM_COLORS = {"base": "#9e9e9e", "msm": "#4c78a8", "aft": "#e45756", "aft_only": "#f58518"}
PAPER = "the paper (reported)"
"""The legend entry of the paper's figures."""
SEED_COLORS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2", "#f58518", "#72b7b2", "#9d755d")
LAYOUT = dict(
    template="plotly_white",
    height=340,
    margin=dict(l=60, r=20, t=50, b=60),
    font=dict(family="system-ui, -apple-system, 'Segoe UI', sans-serif", size=12),
)


def funnel(view: CorpusView) -> go.Figure:
    steps = [s for s, _, _ in view.funnel]
    fig = go.Figure(
        go.Bar(x=steps, y=[d for _, d, _ in view.funnel], text=[d for _, d, _ in view.funnel])
    )
    fig.update_layout(title="documents through the stages", yaxis_title="documents", **LAYOUT)
    return fig


def doc_types(view: CorpusView) -> go.Figure:
    items = sorted(view.doc_types.items(), key=lambda kv: (kv[1], kv[0]))
    fig = go.Figure(go.Bar(x=[n for _, n in items], y=[t for t, _ in items], orientation="h"))
    layout = {**LAYOUT, "height": max(240, 22 * len(items) + 90)}
    fig.update_layout(title="document types (final corpus)", xaxis_title="documents", **layout)
    return fig


def lengths(view: CorpusView) -> go.Figure:
    fig = go.Figure()
    for stage, label in (("generate", "as generated"), ("quality", "final corpus")):
        if stage in view.words:
            fig.add_trace(go.Histogram(x=view.words[stage], name=label, opacity=0.6, nbinsx=30))
    fig.update_layout(
        title="document length", xaxis_title="words", yaxis_title="documents", barmode="overlay",
        **LAYOUT,
    )  # fmt: skip
    return fig


def sections(view: CorpusView) -> go.Figure:
    ids = list(view.sections)
    fig = go.Figure(go.Bar(x=ids, y=[view.sections[s] for s in ids]))
    fig.update_layout(
        title="final documents per section", yaxis_title="documents", xaxis_tickangle=-30,
        **LAYOUT,
    )  # fmt: skip
    return fig


def metric(view: ExperimentsView, name: str) -> go.Figure:
    """One eval headline: a bar per arm per experiment group, 1 SEM error bars over seeds, and
    the paper's figure for a group and arm as a black diamond in that arm's slot (its height the
    paper's value, ours the bar's), one legend entry for all of them."""
    groups = [g for g in view.groups if any(m == name for m, _ in g.cells)]
    labels = [g.label for g in groups]
    fig = go.Figure()
    arms = [a for a in ARMS if any((name, a) in g.cells for g in groups)]
    arms += sorted({a for g in groups for m, a in g.cells if m == name} - set(arms))
    for arm in arms:
        cells = [g.cells.get((name, arm)) for g in groups]
        fig.add_trace(
            go.Bar(
                name=ARM_NAMES.get(arm, arm),
                x=labels,
                y=[c.mean if c else None for c in cells],
                error_y=dict(type="data", array=[(c.sem or 0) if c else 0 for c in cells]),
                marker_color=ARM_COLORS.get(arm),
                offsetgroup=arm,
                customdata=[c.seeds if c else 0 for c in cells],
                hovertemplate="%{y:.3f} ± %{error_y.array:.3f} (%{customdata} seeds)",
            )
        )
    paper = [p for p in view.paper if p.metric == name and p.label in labels and p.arm in arms]
    for arm in arms:
        mine = [p for p in paper if p.arm == arm]
        if mine:
            fig.add_trace(
                go.Scatter(
                    name=PAPER,
                    legendgroup="paper",
                    showlegend=not any(t.legendgroup == "paper" for t in fig.data),
                    x=[p.label for p in mine],
                    y=[p.value for p in mine],
                    mode="markers",
                    offsetgroup=arm,
                    marker=dict(
                        symbol="diamond", size=13, color="black", line=dict(color="white", width=1)
                    ),
                    customdata=[f"{ARM_NAMES.get(arm, arm)}: {p.note}" for p in mine],
                    hovertemplate="the paper: %{y:.2f}<br>%{customdata}<extra></extra>",
                )
            )
    title = f"{name}: mean ± 1 SEM over seeds" + ("; ◆ the paper" if paper else "")
    fig.update_layout(title=title, barmode="group", scattermode="group", **LAYOUT)
    return fig


def curves(view: ExperimentsView, group: Group) -> go.Figure:
    """The group's training loss per step: a panel per training stage (MSM, MSM + AFT, AFT
    only), a line per run (seed) in the same colour in every panel."""
    found = view.curves.get(group.label, {})
    stages = [s for s in CURVE_STAGES if found.get(s)]
    fig = make_subplots(
        rows=1,
        cols=max(1, len(stages)),
        subplot_titles=[f"{CURVE_STAGES[s]} ({s})" for s in stages],
        horizontal_spacing=0.08,
    )
    runs = sorted({r for s in stages for r in found[s]})
    shown: set[str] = set()
    for col, stage in enumerate(stages, start=1):
        for i, run in enumerate(runs):
            points = found[stage].get(run)
            if not points:
                continue
            fig.add_trace(
                go.Scatter(
                    x=[s for s, _ in points],
                    y=[v for _, v in points],
                    mode="lines+markers" if len(points) < 20 else "lines",
                    name=run,
                    legendgroup=run,
                    showlegend=run not in shown,
                    line=dict(color=SEED_COLORS[i % len(SEED_COLORS)]),
                ),
                row=1,
                col=col,
            )
            shown.add(run)
        fig.update_xaxes(title_text="step", row=1, col=col)
    fig.update_yaxes(title_text="training loss", row=1, col=1)
    layout = {**LAYOUT, "margin": {**LAYOUT["margin"], "t": 80}}  # the title above the panels
    fig.update_layout(title=f"{group.label}: training loss per step", **layout)
    return fig
