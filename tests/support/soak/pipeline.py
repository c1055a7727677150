"""One ``tap | target`` run as Meltano runs it, with an optional SIGKILL at a chosen moment.

Both plugins are the real CLIs in their own processes, joined by an OS pipe. The target's stdout
is read line by line: the last STATE it printed before it ended (or was killed) is what Meltano
would have persisted, and it is what the next run resumes from. Logs go to files that each run
overwrites, so a long soak keeps memory flat.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# Every process a run started and has not reaped yet: killed by :func:`kill_all` on exit/Ctrl-C.
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
_STOPPING = threading.Event()


class StoppedError(Exception):
    """The soak is stopping (Ctrl-C, an error): no new process is started."""


@dataclass
class Kill:
    """Which process to SIGKILL (``tap`` or ``target``) and how many seconds after the start."""

    process: str
    after_seconds: float


@dataclass
class RunResult:
    """What one run did, from the outside."""

    start_state: dict[str, Any] | None
    state: dict[str, Any] | None  # the last STATE the target printed, else ``start_state``
    states_printed: int
    killed: str | None  # the process killed, None when the run ended before the kill moment
    kill_at: float | None
    seconds: float
    tap_rc: int | None
    target_rc: int | None
    timed_out: bool
    notes: list[str]  # the last log line of a process that failed by itself (not the killed one)

    @property
    def progressed(self) -> bool:
        """True when the run left a STATE further than the one it started from."""
        return bool(comparable(self.state) != comparable(self.start_state))

    @property
    def clean(self) -> bool:
        """A run that was not killed and whose processes both exited 0."""
        return self.killed is None and not self.timed_out and self.tap_rc == self.target_rc == 0


def comparable(state: dict[str, Any] | None) -> Any:
    """A state without SDK progress markers (they say nothing about what is committed)."""
    if isinstance(state, dict):
        return {k: comparable(v) for k, v in state.items() if k != "progress_markers"}
    if isinstance(state, list):
        return [comparable(v) for v in state]
    return state


def _spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    # Own session: a Ctrl-C in the terminal reaches the soak only, which then kills these itself.
    with _LIVE_LOCK:
        if _STOPPING.is_set():
            raise StoppedError
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        _LIVE.add(proc)
    return proc


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    with _LIVE_LOCK:
        _LIVE.discard(proc)
    return rc


def allow_runs() -> None:
    """Let runs start processes (again): at the start of a soak."""
    _STOPPING.clear()


def kill_all() -> None:
    """Refuse new processes, then SIGKILL every process a run started that is alive (and reap)."""
    with _LIVE_LOCK:
        _STOPPING.set()
        procs = list(_LIVE)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        _reap(proc, 10)


class _StateReader(threading.Thread):
    """Keeps the last STATE line of the target's stdout (anything else is ignored)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.state: dict[str, Any] | None = None
        self.count = 0

    def run(self) -> None:
        for line in self.stream:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            # Targets print the bare state value (Meltano's convention); accept a message too.
            if isinstance(message, dict) and message.get("type") == "STATE":
                message = message.get("value")
            if isinstance(message, dict):
                self.state = message
                self.count += 1


def run_pipe(
    tap: list[str],
    target: list[str],
    workdir: Path,
    state: dict[str, Any] | None,
    *,
    kill: Kill | None = None,
    timeout: float = 600.0,
) -> RunResult:
    """Run ``tap [--state] | target`` to the end, or SIGKILL one side at ``kill.after_seconds``."""
    tap_args = list(tap)
    if state is not None:
        state_path = workdir / "state.json"
        state_path.write_text(json.dumps(state))
        tap_args += ["--state", str(state_path)]
    with (
        (workdir / "tap.log").open("wb") as tap_log,
        (workdir / "target.log").open("wb") as target_log,
    ):
        start = time.monotonic()
        tap_proc = _spawn(tap_args, stdout=subprocess.PIPE, stderr=tap_log)
        target_proc = _spawn(
            target, stdin=tap_proc.stdout, stdout=subprocess.PIPE, stderr=target_log
        )
        assert tap_proc.stdout is not None
        assert target_proc.stdout is not None
        tap_proc.stdout.close()  # the target holds the only read end: a dead target stops the tap
        reader = _StateReader(target_proc.stdout)
        reader.start()
        killed, timed_out = None, False
        deadline = start + timeout
        moment = start + kill.after_seconds if kill else deadline
        try:
            target_proc.wait(timeout=max(0.0, min(moment, deadline) - time.monotonic()))
        except subprocess.TimeoutExpired:
            if kill and time.monotonic() < deadline:
                victim = tap_proc if kill.process == "tap" else target_proc
                if victim.poll() is None:
                    os.kill(victim.pid, signal.SIGKILL)
                    killed = kill.process
            else:
                timed_out = True
                tap_proc.kill()
                target_proc.kill()
        # A killed tap: the target reads EOF, commits and ends by itself. A killed target: the
        # pipeline has failed and, as Meltano does, the tap is stopped too.
        target_rc = _reap(target_proc, max(5.0, deadline - time.monotonic()))
        if killed == "target" and tap_proc.poll() is None:
            tap_proc.kill()
        tap_rc = _reap(tap_proc, 30)
        reader.join(10)
        target_proc.stdout.close()
        seconds = time.monotonic() - start
    notes = [
        f"{name} exited {rc}: {_last_line(workdir / f'{name}.log')}"
        for name, rc in (("tap", tap_rc), ("target", target_rc))
        if rc not in {0, -signal.SIGKILL}
    ]
    return RunResult(
        start_state=state,
        state=reader.state if reader.state is not None else state,
        states_printed=reader.count,
        killed=killed,
        kill_at=kill.after_seconds if killed and kill else None,
        seconds=seconds,
        tap_rc=tap_rc,
        target_rc=target_rc,
        timed_out=timed_out,
        notes=notes,
    )


def _last_line(log: Path) -> str:
    """What a failing plugin said: its last ERROR lines and its last line."""
    lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
    errors = [x for x in lines if "| ERROR" in x or "Error" in x][-3:]
    said = [*errors, *lines[-1:]] if lines else ["(no output)"]
    return " / ".join(dict.fromkeys(x[-400:] for x in said))
