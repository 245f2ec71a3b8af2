"""`msm generate` killed with SIGKILL (whole process group) at five points, then re-run.

Through the real CLI, SDK and a local server on 127.0.0.1: documents via the Message Batches
API, the plan levels via the Messages API. The final corpus equals an uninterrupted run's, the
server never completed a Messages request twice, no request went into two batches, and the API
key appears in no file and no output.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from msmrun import finished, local_run_config, msm_started
from testprofile import write_params

from fakes.localserver import LocalAPIServer
from fakes.standin import LocalModel

KEY = "sk-ant-crash-test-7f3a9c1d-NEVER-WRITTEN"
MODEL = "claude-local-20250101"


def project(root: Path, spec: Path, url: str) -> Path:
    root.mkdir()
    (root / "specs").mkdir()
    (root / "specs" / "small.md").write_text(spec.read_text())
    params = {
        "specs": ["small"],
        "spec": "small",
        "generate": {
            "backend": "anthropic",
            "model": MODEL,
            "doc_types_per_section": 2,
            "ideas_per_doc_type": 2,
            "max_tokens": 400,
            "plan_max_tokens": 300,
            "max_spend_usd": 5.0,
        },
    }
    write_params(root / "params.yaml", **params)
    local_run_config(root, url, MODEL, batch_purposes=["document"], batch_poll_s=0.05)
    return root


def launch(root: Path, cache: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, ANTHROPIC_API_KEY=KEY, MSM_WORK_DIR=str(root / "work"))
    args = ["--spec", "specs/small.md", "--params", "params.yaml", "--run-config", "run.yaml"]
    args += ["--plan", str(out / "plan.json"), "--cache", str(cache), "--out", str(out / "gen")]
    args += ["--stats", str(out / "stats.json"), "--no-progress"]
    return msm_started(root, env, "generate", *args)


def test_sigkill_at_five_points_then_rerun(write_spec: Callable[..., Path], tmp_path: Path) -> None:
    rng = random.Random(20261127)
    # Batches stay in progress 12 s: long enough that the re-run after the `created` kill (a new
    # interpreter, a few seconds of imports) still finds it running, for the `polled` kill.
    logs: list[str] = []
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), batch_processing_s=12.0, model_id=MODEL
    ) as server:
        root = project(tmp_path / "proj", write_spec(), server.url)
        code, log = finished(launch(root, root / "cache_ref", root / "ref"))
        logs.append(log)
        assert code == 0, log
        reference = (root / "ref" / "gen" / "documents.parquet").read_bytes()
        server.reset_accounting()

        plan_messages = 4 + 4 * 2  # doc-type calls, then idea calls
        first = rng.randint(2, plan_messages // 2)
        second = rng.randint(1, plan_messages - first - 2)
        points = [("message", first), ("message", second), ("created",), ("polled",), ("results",)]
        for point in points:
            proc = launch(root, root / "cache", root / "run")
            if point[0] == "message":
                server.kill_on_message(point[1], os.getpgid(proc.pid), grace_s=0.3)
            else:
                server.kill_on_batch_event(point[0], os.getpgid(proc.pid))
            code, log = finished(proc)
            logs.append(log)
            assert code == -signal.SIGKILL, (point, code, log)
            assert not (root / "run" / "gen").exists()
        assert [k.trigger for k in server.kills] == [p[0] for p in points]

        code, log = finished(launch(root, root / "cache", root / "run"))
        logs.append(log)
        assert code == 0, log
        assert (root / "run" / "gen" / "documents.parquet").read_bytes() == reference
        assert set(server.completed_counts().values()) == {1}
        assert set(server.batch_custom_id_counts().values()) == {1}
        assert len(server.batches_created) == 1  # collected after three kills, never resubmitted

    for log in logs:
        assert KEY not in log
    for path in root.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_a_batch_whose_id_never_reached_the_journal_is_found_by_listing(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    """Killed between `create` returning and the journal recording the batch id: the re-run
    lists recent batches, matches custom_ids and collects that batch instead of paying again."""
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), batch_processing_s=1.0, model_id=MODEL
    ) as server:
        root = project(tmp_path / "proj", write_spec(), server.url)
        proc = launch(root, root / "cache", root / "run")
        server.kill_on_batch_event("created", os.getpgid(proc.pid))
        code, log = finished(proc)
        assert code == -signal.SIGKILL, log
        (entry,) = (root / "work" / "batches").rglob("*.json")
        record = json.loads(entry.read_text())
        assert len(record["keys"]) == 16
        record["batch_id"] = ""  # as if the kill came before the id was written
        entry.write_text(json.dumps(record))

        code, log = finished(launch(root, root / "cache", root / "run"))
        assert code == 0, log
        assert "recovered 16 answers" in log
        assert len(server.batches_created) == 1
        assert set(server.batch_custom_id_counts().values()) == {1}
        assert not list((root / "work" / "batches").rglob("*.json"))  # journal cleared
