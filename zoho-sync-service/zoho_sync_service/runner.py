"""One ``meltano run`` of a job, with its selection, and what the run reported.

The selection travels as environment overrides that Meltano already understands:
``<EXTRACTOR>_CRM_MODULES`` (tap-zoho's ``crm_modules``: only those modules are discovered and read)
and ``<EXTRACTOR>__SELECT`` (the ``select`` extra: only those finance streams are read). The counts
come from the run itself: the tap's ``record_count`` metrics, its ``Sync summary: {...}`` line and
target-tsh-postgres's report file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import re
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

LOG = logging.getLogger("zoho_sync_service.runner")
# Meltano's console format: "<timestamp> [<level>] <plugin name> <message>"
LINE = re.compile(r"^\S+\s+\[\s*(?P<level>\w+)\s*\]\s+(?P<name>\S+)\s+(?P<message>.*)$")
TAIL_LINES = 40
PR_SET_PDEATHSIG = 1
try:  # resolved here: a forked child must not look libraries up
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None
_DECODER = json.JSONDecoder()


def env_name(plugin: str) -> str:
    """Meltano's environment-variable prefix of a plugin name."""
    return re.sub(r"[^A-Za-z0-9]", "_", plugin).upper()


@dataclass(frozen=True)
class RunSpec:
    """Everything that makes one Meltano invocation."""

    job: str
    env: dict[str, str]  # the job's overrides
    full_refresh: bool = False
    force: bool = False
    report_path: Path | None = None
    log_path: Path | None = None
    base_env: dict[str, str] | None = None  # what the run inherits (None: this process's)


@dataclass
class RunOutcome:
    """What one invocation did."""

    exit_code: int | None
    duration: float
    records: dict[str, int] = field(default_factory=dict)
    tap_summary: dict[str, Any] | None = None
    erp_report: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        """Meltano exited 0."""
        return self.exit_code == 0

    def report(self) -> dict[str, Any] | None:
        """The reports the plugins wrote, for the history."""
        if self.tap_summary is None and self.erp_report is None:
            return None
        return {"tap_summary": self.tap_summary, "erp_report": self.erp_report}


def _json_after(text: str, marker: str) -> Any:
    start = text.find(marker)
    if start < 0:
        return None
    with contextlib.suppress(ValueError):
        return _DECODER.raw_decode(text, start + len(marker))[0]
    return None


class LogReader:
    """Reads Meltano's log stream line by line and keeps what the run reports."""

    def __init__(self, extractor: str) -> None:
        """Attribute metrics to ``extractor`` (the tap of the job)."""
        self.extractor = extractor
        self.counts: dict[str, dict[str, int]] = {}
        self.tap_summary: dict[str, Any] | None = None
        self.errors: list[str] = []
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    def feed(self, line: str) -> None:
        """Take one line of ``meltano run`` output."""
        line = line.rstrip()
        if not line:
            return
        self.tail.append(line)
        match = LINE.match(line)
        name, level, message = (
            (match["name"], match["level"], match["message"]) if match else ("", "", line)
        )
        if "METRIC: " in message:
            metric = _json_after(message, "METRIC: ")
            if isinstance(metric, dict) and metric.get("metric") == "record_count":
                stream = str((metric.get("tags") or {}).get("stream", ""))
                per_stream = self.counts.setdefault(name, {})
                per_stream[stream] = per_stream.get(stream, 0) + int(metric.get("value") or 0)
            return
        if "Sync summary: " in message:
            summary = _json_after(message, "Sync summary: ")
            if isinstance(summary, dict):
                self.tap_summary = summary
        elif level.lower() in {"error", "critical"} and len(self.errors) < TAIL_LINES:
            self.errors.append(f"{name}: {message}" if name else message)

    def records(self) -> dict[str, int]:
        """Records per stream the tap emitted (the busiest plugin if the tap's are unnamed)."""
        if self.extractor in self.counts:
            return dict(self.counts[self.extractor])
        if not self.counts:
            return {}
        busiest: dict[str, int] = max(self.counts.values(), key=lambda c: sum(c.values()))
        return dict(busiest)


class MeltanoRunner:
    """Starts ``meltano run`` in the project directory and waits for it."""

    def __init__(self, meltano: str, project_dir: Path, timeout: float) -> None:
        """Use the ``meltano`` executable on ``project_dir``; stop runs after ``timeout`` s."""
        self.meltano = meltano
        self.project_dir = project_dir
        self.timeout = timeout
        self._current: asyncio.subprocess.Process | None = None

    async def run(self, spec: RunSpec, extractor: str) -> RunOutcome:
        """Run one job; never raises for a failed run (the outcome says so)."""
        args = [self.meltano, "run"]
        if spec.full_refresh:
            args.append("--full-refresh")
        if spec.force:
            args.append("--force")
        args.append(spec.job)
        if spec.report_path:
            spec.report_path.unlink(missing_ok=True)
        reader = LogReader(extractor)
        started = time.monotonic()
        LOG.info("Starting: %s", " ".join(args[1:]))
        starting = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *args,
                cwd=self.project_dir,
                env={**(os.environ if spec.base_env is None else spec.base_env), **spec.env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        )
        try:
            proc = await asyncio.shield(starting)
        except OSError as exc:
            return RunOutcome(None, 0.0, errors=[f"cannot start {self.meltano}: {exc}"])
        except asyncio.CancelledError:  # cancelled while starting: let it start, then stop it
            with contextlib.suppress(OSError):
                await _terminate(await starting)
            raise
        self._current = proc
        try:
            exit_code: int | None = await asyncio.wait_for(
                self._drain(proc, reader, spec.log_path), self.timeout
            )
        except TimeoutError:
            await _terminate(proc)
            reader.errors.append(f"the run took longer than {self.timeout:g}s and was stopped")
            exit_code = proc.returncode
        except asyncio.CancelledError:  # the service is stopping: so does the run
            await _terminate(proc)
            raise
        finally:
            self._current = None
        outcome = RunOutcome(
            exit_code,
            time.monotonic() - started,
            records=reader.records(),
            tap_summary=reader.tap_summary,
            erp_report=_read_report(spec.report_path),
            errors=reader.errors,
        )
        if not outcome.succeeded and not outcome.errors:
            outcome.errors = [f"meltano exited with {exit_code}", *list(reader.tail)[-5:]]
        return outcome

    @staticmethod
    async def _drain(
        proc: asyncio.subprocess.Process, reader: LogReader, log_path: Path | None
    ) -> int:
        """Feed every output line to ``reader`` and, when given, to the run's log file."""
        assert proc.stdout is not None  # noqa: S101 - created with a pipe
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(log_path.open("ab")) if log_path else None
            while line := await proc.stdout.readline():
                reader.feed(line.decode(errors="replace"))
                if log:
                    log.write(line)
        return await proc.wait()

    async def stop(self) -> None:
        """Stop the running invocation, if any."""
        if self._current is not None:
            await _terminate(self._current)


async def _terminate(proc: asyncio.subprocess.Process, grace: float = 15.0) -> None:
    """Stop an invocation and its plugins (its whole process group): TERM, then KILL."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the service dies, even by SIGKILL (Linux only)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _read_report(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
