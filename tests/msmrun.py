"""`msm_in(cwd, *args)`: the real `msm` command run in a subprocess from a folder of the test's
choosing (a temp folder laid out like the repository), so that paths read from its `dvc.yaml`
resolve there; `msm_started` / `finished` for a run a test kills midway, and
`local_run_config` for a paid run against the local server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml


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


def local_run_config(root: Path, url: str, model: str, **llm: object) -> Path:
    """`root/run.yaml` for a paid run against the local server at `url`: `model`'s price, four
    requests at a time, fast timeouts and retries; `llm` adds or replaces llm settings."""
    run = {
        "prices": {"anthropic": {model: {"input_per_mtok": 3, "output_per_mtok": 15}}},
        "llm": {
            "concurrency": 4,
            "timeout_s": 5.0,
            "backoff_s": 0.01,
            "backoff_max_s": 0.05,
            "anthropic_base_url": url,
            **llm,
        },
    }
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(run))
    return path
