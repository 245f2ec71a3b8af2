"""Pure scorers of the spec-knowledge eval: no model, no I/O, testable on fixed numbers.

A pair's score is 1.0 when the consistent statement has the higher log-likelihood, 0.0 when the
inconsistent one has, 0.5 on a tie (within 1e-9). Its margin is the consistent statement's
log-likelihood minus the inconsistent one's. The headline rate is the mean pair score, with its
SEM over pairs and the pair count, overall and per spec section.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from training.scorers import forced_choice, mean_sem


def pair_score(logp_consistent: float, logp_inconsistent: float) -> float:
    """1.0: the consistent statement is preferred; 0.0: the inconsistent one; 0.5: a tie."""
    for value in (logp_consistent, logp_inconsistent):
        if not math.isfinite(value):
            raise ValueError(f"a log-likelihood must be finite, got {value}")
    return forced_choice(logp_consistent, logp_inconsistent)


def chosen(score: float) -> str:
    return {1.0: "consistent", 0.0: "inconsistent"}.get(score, "tie")


def summarize(pairs: Iterable[tuple[str, float, float]]) -> dict:
    """The headline over (section, score, margin) triples: rate, SEM, count and mean margin
    over all pairs, and the same per section."""
    by_section: dict[str, list[tuple[float, float]]] = {}
    for section, score, margin in pairs:
        by_section.setdefault(section, []).append((score, margin))
    out = _rate([x for group in by_section.values() for x in group])
    out["sections"] = {s: _rate(group) for s, group in sorted(by_section.items())}
    return out


def _rate(scored: list[tuple[float, float]]) -> dict:
    if not scored:
        return {"rate": None, "sem": None, "n": 0, "mean_margin": None}
    mean, sem = mean_sem([s for s, _ in scored])
    return {
        "rate": round(mean, 4),
        "sem": round(sem, 4),
        "n": len(scored),
        "mean_margin": round(sum(m for _, m in scored) / len(scored), 4),
    }
