"""Suite-wide scheduling: the longest test files start first.

`make test` runs the suite on two pytest-xdist workers a file at a time (`--dist loadfile
--no-loadscope-reorder`), so a file is never split and the order of collection is the order of
dispatch. A file that builds DVC pipelines says about how long it takes with
`pytestmark = pytest.mark.slow(seconds=N)` (seconds on one of CI's 2 cores, from `--durations`);
those files are dispatched first, longest first, and every other file fills in behind them, so
the two workers finish together instead of one starting the longest file last.
"""

from __future__ import annotations

import pytest


def _cost(item: pytest.Item) -> float:
    mark = item.get_closest_marker("slow")
    return float(mark.kwargs.get("seconds", 60)) if mark else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cost: dict[str, float] = {}
    for item in items:
        cost[item.path.as_posix()] = max(cost.get(item.path.as_posix(), 0.0), _cost(item))
    items.sort(key=lambda item: -cost[item.path.as_posix()])  # stable: file order kept within
