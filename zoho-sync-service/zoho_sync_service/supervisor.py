"""The service's background loops, kept alive: a loop that raises is logged and started again.

A loop that dies silently is the worst failure a long-running service has (a dead channel renewal
lets every CRM channel lapse within a day while ``/health`` says healthy). Each loop here runs
under :meth:`Supervisor.spawn`: an unexpected exception is logged with its traceback, counted, and
the loop restarts after a backoff (doubling up to a minute). Until the loop reports a good cycle
again (:meth:`Supervisor.healthy`), or while it reports trouble it handles itself
(:meth:`Supervisor.trouble`), :meth:`Supervisor.problems` names it, and ``/health`` says
``degraded`` with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

LOG = logging.getLogger("zoho_sync_service.supervisor")
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 60.0
MAX_REASON = 300


@dataclass
class TaskState:
    """How one background loop is doing."""

    name: str
    restarts: int = 0
    problem: str = ""
    since: str = ""
    backoff: float = FIRST_BACKOFF
    task: asyncio.Task[None] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "running": self.task is not None and not self.task.done(),
            "restarts": self.restarts,
            "problem": self.problem or None,
            "since": self.since or None,
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Supervisor:
    """Starts, restarts and stops the background loops; knows which are unwell."""

    def __init__(self, first_backoff: float = FIRST_BACKOFF) -> None:
        """Restart a failed loop after ``first_backoff`` seconds, doubling each time."""
        self.first_backoff = first_backoff
        self.tasks: dict[str, TaskState] = {}

    def spawn(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run ``loop()`` as the background task ``name``, restarting it whenever it raises."""
        state = TaskState(name, backoff=self.first_backoff)
        self.tasks[name] = state
        state.task = asyncio.create_task(self._keep(state, loop), name=name)

    async def _keep(self, state: TaskState, loop: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await loop()
                reason = "the loop returned"
                LOG.error("Background task %s returned; restarting it", state.name)
            except Exception as exc:  # whatever it was, the loop must go on
                reason = f"{type(exc).__name__}: {exc}"
                LOG.exception("Background task %s died; restarting it", state.name)
            state.restarts += 1
            self.trouble(state.name, f"crashed ({reason}); restarting")
            await asyncio.sleep(state.backoff)
            state.backoff = min(MAX_BACKOFF, state.backoff * 2)

    def healthy(self, name: str) -> None:
        """``name`` completed a good cycle: it is well again."""
        state = self.tasks.get(name)
        if state is not None and state.problem:
            LOG.info("Background task %s is well again", name)
            state.problem = ""
            state.since = ""
            state.backoff = self.first_backoff

    def trouble(self, name: str, problem: str) -> None:
        """``name`` is not doing its job (it keeps running): say why until it is well again."""
        state = self.tasks.setdefault(name, TaskState(name, backoff=self.first_backoff))
        state.problem = problem[:MAX_REASON]
        state.since = state.since or _now()

    def problems(self) -> list[str]:
        """One line per unwell loop."""
        out = []
        for state in self.tasks.values():
            if state.task is not None and state.task.done():
                out.append(f"{state.name}: stopped")
            elif state.problem:
                out.append(f"{state.name}: {state.problem} (since {state.since})")
        return out

    def status(self) -> dict[str, Any]:
        """Every loop, JSON-ready."""
        return {name: state.as_dict() for name, state in self.tasks.items()}

    async def stop(self) -> None:
        """Cancel every loop and wait for each to finish."""
        tasks = [s.task for s in self.tasks.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
