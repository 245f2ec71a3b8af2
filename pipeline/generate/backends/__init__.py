"""Generation backends behind one interface (see `base.Backend`)."""

from pipeline.generate.backends.base import Backend
from pipeline.generate.backends.offline import OfflineBackend


def make_backend(name: str) -> Backend:
    if name == "offline":
        return OfflineBackend()
    raise ValueError(f"unknown generation backend {name!r}; known: offline")


__all__ = ["Backend", "OfflineBackend", "make_backend"]
