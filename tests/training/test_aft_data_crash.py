"""`msm aft-data` from a spec killed with SIGKILL (its whole process group) twice midway, then
re-run: through the real CLI, the anthropic SDK and the local server on 127.0.0.1. Nothing is
written by a killed run, the final dataset equals an uninterrupted run's, and the server never
completed a request twice (every answer bought was in the cache for the re-run)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from msmrun import finished, local_run_config, msm_started
from test_aft_data import spec_file
from test_aft_data_api import SPEC_BUILD
from testprofile import write_params

from fakes.aft_standin import aft_model
from fakes.localserver import LocalAPIServer

KEY = "sk-ant-aft-crash-5e1b-NEVER-WRITTEN"
MODEL = "claude-local-20250101"


def project(root: Path, url: str) -> Path:
    spec_file(root / "specs")
    aft_data = {
        "source": "specs/small.md",
        "target": 24,
        "samples": 20,
        "spec_build": {**SPEC_BUILD, "model": MODEL, "max_spend_usd": 5.0},
    }
    write_params(root / "params.yaml", aft_data=aft_data)
    local_run_config(root, url, MODEL, batch_purposes=[])
    return root


def launch(root: Path, cache: str, out: str) -> subprocess.Popen:
    env = dict(os.environ, ANTHROPIC_API_KEY=KEY, MSM_WORK_DIR=str(root / "work"))
    args = ["--params", "params.yaml", "--run-config", "run.yaml", "--cache", cache]
    args += ["--out", out, "--stats", f"{out}.stats.json", "--no-progress"]
    return msm_started(root, env, "aft-data", *args)


def test_sigkill_midway_then_rerun_buys_nothing_twice(tmp_path: Path) -> None:
    with LocalAPIServer(api_key=KEY, responder=aft_model, model_id=MODEL) as server:
        root = project(tmp_path / "proj", server.url)
        code, log = finished(launch(root, "cache_ref", "ref"))
        assert code == 0, log
        reference = {n: (root / "ref" / n).read_bytes() for n in ("cot.parquet", "no_cot.parquet")}
        total = len(server.requests)
        assert total > 20
        server.reset_accounting()

        for n in (total // 3, total // 4):  # the second kill comes later: the cache has a third
            proc = launch(root, "cache", "out")
            server.kill_on_message(n, os.getpgid(proc.pid), grace_s=0.3)
            code, log = finished(proc)
            assert code == -signal.SIGKILL, (n, code, log)
            assert not (root / "out").exists() and not (root / "out.stats.json").exists()
        assert [k.trigger for k in server.kills] == ["message", "message"]

        code, log = finished(launch(root, "cache", "out"))
        assert code == 0, log
        for name, data in reference.items():
            assert (root / "out" / name).read_bytes() == data, name
        assert set(server.completed_counts().values()) == {1}  # nothing bought twice
        assert len(server.completed_counts()) == total  # and everything bought once

    assert KEY not in log
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
