"""Errors of the LLM layer."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A backend cannot work at all (missing key or package, bad credentials, unknown model,
    a feature the backend does not have). Retrying cannot fix it."""
