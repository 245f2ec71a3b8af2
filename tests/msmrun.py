"""`msm_in(cwd, *args)`: the real `msm` command run in a subprocess from a folder of the test's
choosing (a temp folder laid out like the repository), so that paths read from its `dvc.yaml`
resolve there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def msm_in(cwd: Path, *args: str | Path, code: str = "") -> subprocess.CompletedProcess:
    """`msm ARGS` run from `cwd`; `code` runs after it in the same process (`rc`: exit code)."""
    script = (
        "import sys\nfrom pipeline.cli import main\nrc = 0\ntry:\n    main(sys.argv[1:])\n"
        f"except SystemExit as e:\n    rc = e.code\n{code}\nsys.exit(rc)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def msm_started(cwd: Path, env: dict[str, str], *args: str | Path) -> subprocess.Popen:
    """`msm ARGS` started from `cwd` and left running, in its own process group (so a test, or
    the local server's fault injection, can SIGKILL the whole group midway)."""
    return subprocess.Popen(
        [sys.executable, "-c", "from pipeline.cli import main; main()", *map(str, args)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finished(proc: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
    """Wait for a started `msm`: its exit code and its stdout + stderr."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err
