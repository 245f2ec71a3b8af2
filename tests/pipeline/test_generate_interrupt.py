"""`msm generate` stopped by Ctrl-C (SIGINT) or SIGTERM: it drains what is in flight.

Through the real CLI and SDK against the local server on 127.0.0.1 and its accounting: the
requests in flight at the signal are answered and committed, so the re-run buys none of them
again and ends with the corpus of a run never interrupted; the exit code is 130 or 143 with one
line naming what was kept and the command that continues, never a traceback. A second SIGINT
quits at once, a drain time that runs out abandons the rest, and submitted batches stay
journalled for the next run.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from msmrun import finished as finish

from fakes.localserver import LocalAPIServer
from fakes.standin import LocalModel
from tests.pipeline.test_generate_crash import KEY, MODEL, launch, project

NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def setup(root: Path, **llm: object) -> None:
    """The crash test's project with these run.yaml `llm:` settings on top."""
    run = yaml.safe_load((root / "run.yaml").read_text())
    run.setdefault("llm", {}).update(llm)
    (root / "run.yaml").write_text(yaml.safe_dump(run))


def wait_for_fresh_arrival(server: LocalAPIServer, completed: int, timeout: float = 60) -> None:
    """Return as soon as a request arrives after `completed` answers were written: it has the
    server's whole latency still ahead of it, so it is surely in flight when the signal lands."""
    deadline = time.monotonic() + timeout
    seen = len(server.requests)
    while time.monotonic() < deadline:
        records = server.requests
        done = sum(r.completed for r in records)
        if len(records) > seen and records[-1].outcome == "pending" and done >= completed:
            return
        seen = len(records)
        time.sleep(0.005)
    raise AssertionError(f"no request arrived after {completed} answers: {records}")


def settle(server: LocalAPIServer, timeout: float = 10) -> None:
    """Wait until the server has finished with every request (abandoned ones included)."""
    deadline = time.monotonic() + timeout
    while "pending" in server.outcome_counts() and time.monotonic() < deadline:
        time.sleep(0.05)


def last_line(log: str) -> str:
    return log.strip().splitlines()[-1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_drains_in_flight_and_the_rerun_buys_nothing_twice(
    write_spec: Callable[..., Path], tmp_path: Path, signum: int
) -> None:
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), latency_s=0.6, model_id=MODEL
    ) as server:
        root = project(tmp_path / "proj", write_spec(), server.url)
        setup(root, batch_purposes=[], drain_s=20.0)
        code, log = finish(launch(root, root / "cache_ref", root / "ref"))
        assert code == 0, log
        reference = (root / "ref" / "gen" / "documents.parquet").read_bytes()
        server.reset_accounting()

        proc = launch(root, root / "cache", root / "run")
        wait_for_fresh_arrival(server, completed=6)
        proc.send_signal(signum)
        code, log = finish(proc)
        assert code == 128 + signum, log
        assert "Traceback" not in log
        assert f"{NAMES[signum]}: stopping; no new requests are sent" in log
        line = last_line(log)
        assert line.startswith(f"msm generate: interrupted by {NAMES[signum]}: "), line
        assert "0 requests in flight were abandoned" in line, line
        assert "continue with: msm generate --spec specs/small.md" in line, line
        drained = int(line.split("(")[1].split(" arrived while draining")[0])
        assert drained >= 1, line
        # every request the server saw was answered and read: none was cut off
        outcomes = server.outcome_counts()
        assert set(outcomes) == {"ok"}, outcomes
        bought = sum(outcomes.values())
        assert f"{bought:,} answers bought by this run are in the cache" in line, line
        assert not (root / "run" / "gen").exists()

        code, log = finish(launch(root, root / "cache", root / "run"))
        assert code == 0, log
        assert (root / "run" / "gen" / "documents.parquet").read_bytes() == reference
        assert set(server.completed_counts().values()) == {1}  # nothing was bought twice


@contextlib.contextmanager
def first_level_in_flight(spec: Path, tmp_path: Path, drain_s: float) -> Iterator[subprocess.Popen]:
    """A run whose first four requests are in flight, each with 2 s of server latency ahead."""
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), latency_s=2.0, model_id=MODEL
    ) as server:
        root = project(tmp_path / "proj", spec, server.url)
        setup(root, batch_purposes=[], drain_s=drain_s)
        proc = launch(root, root / "cache", root / "run")
        wait_for_fresh_arrival(server, completed=0)
        yield proc
        settle(server)


def test_a_second_sigint_during_the_drain_quits_at_once(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    with first_level_in_flight(write_spec(), tmp_path, drain_s=60.0) as proc:
        proc.send_signal(signal.SIGINT)
        assert proc.stderr is not None
        head = ""
        while "stopping; no new requests are sent" not in head:
            line = proc.stderr.readline()
            assert line, head
            head += line
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code, log = finish(proc)
        took = time.monotonic() - start
    assert code == 130, head + log
    assert took < 1.5, took  # not the 2 s the requests in flight still had to go
    assert "Traceback" not in head + log
    line = last_line(log)
    assert line.startswith("msm generate: SIGINT again: quit at once; "), line
    assert "4 requests in flight abandoned" in line, line
    assert "continue with: msm generate --spec specs/small.md" in line, line


def test_when_the_drain_time_runs_out_the_rest_is_abandoned(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    with first_level_in_flight(write_spec(), tmp_path, drain_s=0.5) as proc:
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, log = finish(proc)
        took = time.monotonic() - start
    assert code == 143, log
    assert took < 3.0, took
    assert "Traceback" not in log
    line = last_line(log)
    assert "0 answers bought by this run are in the cache" in line, line
    assert "4 requests in flight were abandoned" in line, line


def test_submitted_batches_stay_journalled_and_the_next_run_collects_them(
    write_spec: Callable[..., Path], tmp_path: Path
) -> None:
    with LocalAPIServer(
        api_key=KEY, responder=LocalModel(), batch_processing_s=4.0, model_id=MODEL
    ) as server:
        root = project(tmp_path / "proj", write_spec(), server.url)
        proc = launch(root, root / "cache", root / "run")
        deadline = time.monotonic() + 60
        while not server.batches_created:
            assert time.monotonic() < deadline and proc.poll() is None, "no batch was created"
            time.sleep(0.01)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code, log = finish(proc)
        assert code == 143, log
        assert time.monotonic() - start < 3.0  # the batch is not waited for
        assert "Traceback" not in log
        line = last_line(log)
        assert "16 requests in submitted batches stay journalled" in line, line
        assert len(list((root / "work" / "batches").rglob("*.json"))) == 1

        code, log = finish(launch(root, root / "cache", root / "run"))
        assert code == 0, log
        assert "recovered 16 answers" in log
        assert len(server.batches_created) == 1
        assert set(server.completed_counts().values()) == {1}
        assert not list((root / "work" / "batches").rglob("*.json"))
