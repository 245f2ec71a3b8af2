"""The report's charts, as plotly figures (rendered by the plotly.js the page carries inline)."""

from __future__ import annotations

import plotly.graph_objects as go

from pipeline.report.corpus import CorpusView
from pipeline.report.experiments import ExperimentsView
from training.studies.aggregate import Group

ARMS = ("base", "msm", "aft", "aft_only")
ARM_NAMES = {"base": "base", "msm": "MSM only", "aft": "MSM + AFT", "aft_only": "AFT only"}
ARM_COLORS = {"base": "#9e9e9e", "msm": "#4c78a8", "aft": "#e45756", "aft_only": "#f58518"}
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
    """One eval headline: a bar per arm per experiment group, 1 SEM error bars over seeds, the
    paper's figures as diamonds on their group and arm."""
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
    paper = [p for p in view.paper if p.metric == name and p.label in labels]
    for arm in arms:
        mine = [p for p in paper if p.arm == arm]
        if mine:
            fig.add_trace(
                go.Bar(
                    name=f"paper: {ARM_NAMES.get(arm, arm)}",
                    x=[p.label for p in mine],
                    y=[p.value for p in mine],
                    offsetgroup=arm,
                    marker=dict(color="rgba(0,0,0,0)", line=dict(color="black", width=2)),
                    hovertext=[p.note for p in mine],
                    showlegend=True,
                )
            )
    fig.update_layout(
        title=f"{name}: mean ± 1 SEM over seeds (outlined: the paper)", barmode="group",
        **LAYOUT,
    )  # fmt: skip
    return fig


def curves(view: ExperimentsView, group: Group) -> go.Figure:
    fig = go.Figure()
    for run, points in sorted(view.curves.get(group.label, {}).items()):
        fig.add_trace(
            go.Scatter(x=[s for s, _ in points], y=[v for _, v in points], mode="lines", name=run)
        )
    fig.update_layout(
        title=f"{group.label}: MSM training loss", xaxis_title="step", yaxis_title="loss",
        **LAYOUT,
    )  # fmt: skip
    return fig
