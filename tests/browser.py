"""Headless Chromium for the report tests: the rendered DOM (after scripts ran) and a screenshot.

Debian's `chromium` is what `.ci/run` installs where missing. Outside CI (no `CI` in the
environment) a machine without it skips the browser tests with a loud message; in CI a missing
browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


def browser() -> str:
    for name in NAMES:
        if path := shutil.which(name):
            return path
    message = (
        "no headless Chromium on PATH (looked for " + ", ".join(NAMES) + "): the report's "
        "browser tests did NOT run; install Debian's `chromium` (`.ci/run` does)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    warnings.warn(message, stacklevel=2)
    pytest.skip(message)


def _run(html: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser(), *FLAGS, "--virtual-time-budget=10000", *extra, html.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=html.parent,
    )


def rendered_dom(html: Path) -> str:
    done = _run(html, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(html: Path, png: Path, size: str = "1280,2400") -> Path:
    done = _run(html, f"--screenshot={png}", f"--window-size={size}")
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    return png
