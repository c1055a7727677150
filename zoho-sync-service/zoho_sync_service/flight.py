"""Single flight per job: triggers are debounced, coalesced and retried.

Triggers with the same run options merge into one waiting batch (the union of their selections),
so however many arrive while a run is going, at most one follow-up run starts after it; options
that only tune how a run writes (:data:`TUNING`) do not keep calls apart. A batch is stored as one
pending row (:meth:`Batch.covers` tells the service when a trigger needs no write at all). A batch
starts once no new trigger has joined it for ``debounce`` seconds (or ``max_delay`` after its
first trigger, so a steady stream of notifications cannot postpone a run forever). A failed run is
retried with exponential backoff, absorbing whatever joined meanwhile.

Every ``meltano run`` mints Zoho access tokens (the tap asks for one at discovery and one at sync),
and Zoho Accounts allows about ten mints per refresh token in ten minutes (``zoho-api.md`` 1.4).
A :class:`RunBudget` shared by all jobs therefore paces run starts; triggers that wait for it keep
coalescing, so a busy hour costs a bounded number of runs instead of a throttled refresh token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("zoho_sync_service.queue")
# Options that change how a run writes, not what it reads: calls differing only in these share a run
# (the batch keeps the value of the call that opened it).
TUNING = frozenset({"batch_size"})
MAX_LABELS = 20  # trigger labels a batch keeps (the run's trigger text names at most these)


@dataclass
class Batch:
    """Triggers that one run will serve."""

    options: dict[str, Any]
    selection: frozenset[str] | None
    triggers: list[str] = field(default_factory=list)
    pending_ids: list[int] = field(default_factory=list)
    waiters: list[asyncio.Future[Any]] = field(default_factory=list)
    urgent: bool = False
    first_at: float = field(default_factory=time.monotonic)
    last_at: float = field(default_factory=time.monotonic)
    row_id: int | None = None  # the stored row that triggers joining this batch widen

    @property
    def key(self) -> str:
        """Batches with equal keys can share a run."""
        what = {k: v for k, v in self.options.items() if k not in TUNING}
        return json.dumps(what, sort_keys=True)

    def covers(self, other: Batch) -> bool:
        """Whether this batch's stored row already says all that ``other`` would add."""
        selected = self.selection is None or (
            other.selection is not None and other.selection <= self.selection
        )
        labelled = len(self.triggers) >= MAX_LABELS or all(
            t in self.triggers for t in other.triggers
        )
        return selected and labelled

    def absorb(self, other: Batch) -> None:
        """Take another batch's triggers (its selection joins this one's)."""
        if self.selection is None or other.selection is None:
            self.selection = None
        else:
            self.selection = self.selection | other.selection
        for label in other.triggers:
            if len(self.triggers) < MAX_LABELS and label not in self.triggers:
                self.triggers.append(label)
        self.pending_ids += other.pending_ids
        self.waiters += other.waiters
        self.urgent = self.urgent or other.urgent
        self.last_at = max(self.last_at, other.last_at)


@dataclass(frozen=True)
class RunResult:
    """How a batch's run ended (what legacy endpoints and waiters receive)."""

    succeeded: bool
    run_id: int
    detail: Any = None


class RunBudget:
    """At most ``runs`` run starts in any ``window`` seconds, shared by every job."""

    def __init__(self, runs: int, window: float) -> None:
        """Allow ``runs`` starts per sliding ``window`` (``runs`` < 1 means no limit)."""
        self.runs = runs
        self.window = window
        self._starts: deque[float] = deque()
        self._lock = asyncio.Lock()

    def seed(self, started: list[float]) -> None:
        """Count the runs a previous process started (epoch seconds): a restart resets nothing."""
        offset = time.monotonic() - time.time()
        self._starts.extend(sorted(at + offset for at in started))

    def delay(self) -> float:
        """Seconds until a start would be allowed (0 when one is allowed now)."""
        if self.runs < 1:
            return 0.0
        now = time.monotonic()
        while self._starts and now - self._starts[0] >= self.window:
            self._starts.popleft()
        if len(self._starts) < self.runs:
            return 0.0
        return self._starts[0] + self.window - now

    async def acquire(self) -> None:
        """Wait for a slot and take it."""
        async with self._lock:
            while (wait := self.delay()) > 0:
                LOG.info("Run budget spent; next run in %.0fs", wait)
                await asyncio.sleep(wait)
            self._starts.append(time.monotonic())


Execute = Callable[[Batch, int, bool], Awaitable[RunResult]]


class JobQueue:
    """The waiting batches of one job and the loop that runs them one at a time."""

    def __init__(  # noqa: PLR0913 - timing knobs, each named
        self,
        job: str,
        execute: Execute,
        *,
        debounce: float,
        retry_attempts: int,
        retry_backoff: float,
        max_delay: float | None = None,
        budget: RunBudget | None = None,
    ) -> None:
        """Run batches of ``job`` through ``execute(batch, attempt, force)``."""
        self.job = job
        self._execute = execute
        self.debounce = debounce
        self.max_delay = max_delay if max_delay is not None else max(30.0, 5 * debounce)
        self.retry_attempts = retry_attempts
        self.retry_backoff = retry_backoff
        self.budget = budget or RunBudget(0, 0.0)
        self.force_next = False
        self.running: Batch | None = None
        self._batches: list[Batch] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop on its own (the service runs :meth:`run` under its supervisor)."""
        self._task = asyncio.create_task(self.run(), name=f"queue:{self.job}")

    async def stop(self) -> None:
        """Cancel the loop (a run in progress is interrupted by ``execute``)."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def waiting(self) -> int:
        """Batches not started yet."""
        return len(self._batches)

    def waiting_for(self, batch: Batch) -> Batch | None:
        """The waiting batch ``batch`` would join (a running one never takes new triggers)."""
        return next((b for b in self._batches if b.key == batch.key), None)

    def add(self, batch: Batch) -> None:
        """Queue a batch, merged into a waiting one with the same options."""
        for waiting in self._batches:
            if waiting.key == batch.key:
                waiting.absorb(batch)
                break
        else:
            self._batches.append(batch)
        self._wake.set()

    async def run(self, heartbeat: Callable[[], None] | None = None) -> None:
        """Run batches one at a time, forever; ``heartbeat()`` after each wait for work.

        If anything here raises, the batch in hand goes back to the head of the queue before the
        exception leaves, so whoever restarts the loop loses no trigger and no waiter.
        """
        while True:
            if heartbeat is not None:
                heartbeat()
            await self._wake.wait()
            batch = await self._next()
            self.running = batch
            try:
                result = await self._run(batch)
            except Exception:
                self._batches.insert(0, batch)
                self._wake.set()
                raise
            finally:
                self.running = None
            for waiter in batch.waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _next(self) -> Batch:
        while True:
            head = self._batches[0]
            now = time.monotonic()
            if head.urgent:
                break
            wait = min(head.last_at + self.debounce, head.first_at + self.max_delay) - now
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        await self.budget.acquire()  # triggers arriving meanwhile still join the head batch
        batch = self._batches.pop(0)
        if not self._batches:
            self._wake.clear()
        return batch

    async def _attempt(self, batch: Batch, attempt: int) -> RunResult:
        try:
            return await self._execute(batch, attempt, self.force_next)
        except Exception as exc:  # a bug or a full disk must not end the job's loop
            LOG.exception("%s: run attempt %d raised", self.job, attempt)
            return RunResult(succeeded=False, run_id=0, detail=exc)

    async def _run(self, batch: Batch) -> RunResult:
        attempt = 1
        while True:
            result = await self._attempt(batch, attempt)
            if result.succeeded:
                self.force_next = False
                return result
            if attempt >= self.retry_attempts:
                LOG.error("%s: run %s failed %d times; giving up", self.job, result.run_id, attempt)
                return result
            delay = self.retry_backoff * 2 ** (attempt - 1)
            LOG.warning("%s: run %s failed; retrying in %.1fs", self.job, result.run_id, delay)
            await asyncio.sleep(delay)
            await self.budget.acquire()
            attempt += 1
            for waiting in [b for b in self._batches if b.key == batch.key]:
                self._batches.remove(waiting)
                batch.absorb(waiting)
            if not self._batches:
                self._wake.clear()
