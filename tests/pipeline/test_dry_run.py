"""The README's dry run, as written: the local server writes the dry configs, `msm generate`
buys from it, and both say so (which server, how many requests)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dry_run_block(tmp_path: Path) -> None:
    for name in ("params.yaml", "run.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    server = subprocess.Popen(
        [sys.executable, "-m", "fakes.localserver", "--port", "0", "--api-key", "test",
         "--write-config", "dry"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "dry/params.yaml").is_file():
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        env = dict(os.environ, ANTHROPIC_API_KEY="test")
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "generate", "--spec", "specs/rules.md",
             "--params", "dry/params.yaml", "--run-config", "dry/run.yaml",
             "--cache", "dry/cache", "--out", "dry/out", "--pilot", "1"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        server.terminate()
        server_log = server.communicate(timeout=30)[1]
    assert done.returncode == 0, done.stderr
    used = re.search(r"anthropic backend: (\S+) at (http://127\.0\.0\.1:\d+)", done.stderr)
    assert used and used.group(1) == "claude-sonnet-4-5-20250929", done.stderr
    bought = re.search(r"(\d+) answers from the cache, (\d+) bought \(\$([\d.]+)\)", done.stderr)
    assert bought and int(bought.group(1)) == 0 and int(bought.group(2)) > 0
    assert float(bought.group(3)) > 0  # priced as the paid model is
    served = re.findall(
        r"anthropic request (\d+) \(claude-sonnet-4-5-20250929\): 200 ok", server_log
    )
    assert len(served) == int(bought.group(2)), server_log[-2000:]
    assert f"at {used.group(2)}" in server_log  # the config the server wrote names itself
