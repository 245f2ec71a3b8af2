"""Ctrl-C and SIGTERM: a clean stop with the conventional exit code, never a traceback.

`msm` wraps every command in `handled()`. By default the first SIGINT or SIGTERM raises
`Interrupted` (a `KeyboardInterrupt`) wherever the program is; the command's outputs are written
atomically and datatrove's completion markers keep finished tasks, so nothing half-done is left.
`handled()` turns it into one line on stderr and exit code 130 (SIGINT) or 143 (SIGTERM).

Code that can stop better than that opens a `graceful()` block: inside it the first signal only
sets a flag that the code polls (`requested()`), so the generation runner stops sending and
drains the requests in flight into the cache, and the training loop writes a checkpoint at the
step boundary; the code then raises `Interrupted` itself with what it kept. A second signal ends
the process at once (`os._exit`, as a kill would: everything committed so far is already
durable), whatever it is doing.

Signal handlers run in the main thread between bytecodes, so they only set state and write to
stderr; they never take a lock the interrupted code may hold.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; `detail` says what was kept."""

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    def __init__(self) -> None:
        self.prog = "msm"
        self.command = "msm"
        self.signum: int | None = None
        self.at = 0.0
        self.graceful: list[tuple[Callable[[str], None], Callable[[], str]]] = []


_state = _State()


def requested() -> int | None:
    """The number of the first signal received, or None."""
    return _state.signum


def elapsed() -> float:
    """Seconds since the first signal (0.0 when none came)."""
    return time.monotonic() - _state.at if _state.signum is not None else 0.0


def sleep(seconds: float, step: float = 0.2) -> None:
    """`time.sleep` that returns early once a signal has asked the run to stop."""
    end = time.monotonic() + seconds
    while _state.signum is None and (left := end - time.monotonic()) > 0:
        time.sleep(min(step, left))


@contextlib.contextmanager
def graceful(
    on_first: Callable[[str], None], abandoned: Callable[[], str] = lambda: ""
) -> Iterator[None]:
    """Inside this block a first signal calls `on_first(signal name)` and sets `requested()`
    instead of raising; the code must poll `requested()` and stop at its next safe point. On a
    second signal, `abandoned()` names what the immediate exit gives up."""
    _state.graceful.append((on_first, abandoned))
    try:
        yield
    finally:
        _state.graceful.pop()


def _handle(signum: int, frame: object) -> None:
    name = signal.Signals(signum).name
    if _state.signum is not None:  # the second signal: quit now
        what = _state.graceful[-1][1]() if _state.graceful else ""
        line = f"{_state.prog}: {name} again: quit at once"
        line += f"; {what}" if what else ""
        line += f"; continue with: {_state.command}\n"
        with contextlib.suppress(OSError):
            os.write(sys.stderr.fileno(), line.encode())
        os._exit(128 + signum)
    _state.signum, _state.at = signum, time.monotonic()
    if not _state.graceful:
        raise Interrupted(signum)
    _state.graceful[-1][0](name)


def install(argv: list[str]) -> None:
    """Handle SIGINT and SIGTERM for this process (a no-op outside the main thread)."""
    _state.command = shlex.join(["msm", *argv])
    _state.prog = " ".join(["msm", *[a for a in argv if not a.startswith("-")][:1]])
    _state.signum = None
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            signal.signal(signum, _handle)


@contextlib.contextmanager
def handled(argv: list[str]) -> Iterator[None]:
    """Run a command with the handlers installed; an interrupt becomes one line on stderr and
    the conventional exit code, never a traceback."""
    install(argv)
    try:
        yield
    except KeyboardInterrupt as err:  # `Interrupted`, or a library's own KeyboardInterrupt
        signum = getattr(err, "signum", signal.SIGINT)
        detail = getattr(err, "detail", "") or "no output was half-written; finished work is reused"
        name = signal.Signals(signum).name
        print(
            f"{_state.prog}: interrupted by {name}: {detail}; continue with: {_state.command}",
            file=sys.stderr,
        )
        raise SystemExit(128 + signum) from None
