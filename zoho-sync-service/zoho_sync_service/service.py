"""The service's moving parts: a queue and a Meltano runner per job, the history, channel renewal.

Webhook handlers call :meth:`SyncService.trigger`, which makes the trigger durable before
returning, so the HTTP answer can go out at once and the run happen afterwards. A trigger that
joins a waiting run its stored row already covers costs no write at all, so a flood of identical
webhooks is one row and one run. The background loops (a queue per job, channel renewal,
housekeeping) run under a :class:`.supervisor.Supervisor`, and :meth:`SyncService.health` says
when one is unwell.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Literal

import httpx

from .channels import TOKEN_GRACE_SECONDS, ChannelManager, ZohoChannels
from .childenv import Project, run_environment
from .errors import ChannelError, SettingsError
from .flight import Batch, JobQueue, RunBudget, RunResult
from .history import Channel, History
from .instance import InstanceLock
from .jobs import Job
from .replay import ReplayGuard
from .runner import MeltanoRunner, RunOutcome
from .supervisor import Supervisor

if TYPE_CHECKING:
    from .settings import Settings

LOG = logging.getLogger("zoho_sync_service")
Kind = Literal["crm", "finance"]
MAX_TRIGGER_TEXT = 500
KEEP_RUN_LOGS = 100
RENEWAL = "channel-renewal"
HOUSEKEEPING = "housekeeping"
HOUSEKEEPING_SECONDS = 2.0


class SyncService:
    """Runs the project's Meltano jobs when Zoho says something changed."""

    def __init__(self, settings: Settings, lock: InstanceLock | None = None) -> None:
        """Claim the database (:mod:`.instance`), open it and set up a queue per job.

        Nothing else touches the database before the claim: a second service stops here.
        """
        self.settings = settings
        self.lock = lock or InstanceLock(settings.database)
        self.lock.acquire("in-process")
        self.history = History(settings.database)
        # Beside the database: each run's Meltano log and the ERP target's report.
        self.report_dir = settings.database.parent / f"{settings.database.stem}-runs"
        self.report_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.jobs: dict[Kind, Job] = {
            "crm": Job(
                settings.crm_job,
                "crm",
                settings.crm_extractor,
                allowed_modules=settings.crm_modules,
            ),
            "finance": Job(
                settings.books_job, "finance", settings.books_extractor, settings.books_loader
            ),
        }
        self.runners: dict[Kind, MeltanoRunner] = {
            kind: MeltanoRunner(
                settings.meltano, settings.project_dir, settings.run_timeout_seconds
            )
            for kind in self.jobs
        }
        self.budget = RunBudget(settings.max_runs_per_window, settings.run_window_seconds)
        self.queues: dict[Kind, JobQueue] = {
            kind: JobQueue(
                job.name,
                functools.partial(self._execute, kind),
                debounce=settings.debounce_seconds,
                max_delay=settings.max_delay_seconds or None,
                retry_attempts=settings.retry_attempts,
                retry_backoff=settings.retry_backoff_seconds,
                budget=self.budget,
            )
            for kind, job in self.jobs.items()
        }
        self.replays = ReplayGuard(self.history, settings.replay_window_seconds)
        self.supervisor = Supervisor()
        self._channels: ChannelManager | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Recover what a previous process left, start the queues and the background loops."""
        self.history.coalesce_pending()
        self.budget.seed(self.history.run_starts_since(self.settings.run_window_seconds))
        interrupted = set(self.history.mark_interrupted())
        by_name = {job.name: kind for kind, job in self.jobs.items()}
        for kind, job in self.jobs.items():
            if job.name in interrupted:
                self.queues[kind].force_next = True  # its Meltano job record still says running
        recovered = 0
        for row in self.history.pending():
            pending_kind = by_name.get(row.job)
            if pending_kind is None:
                continue
            self.queues[pending_kind].add(
                Batch(row.options, row.selection, [row.trigger], [row.id], row_id=row.id)
            )
            recovered += 1
        if recovered:
            LOG.info("Recovered %d stored trigger(s) not yet served by a finished run", recovered)
        for queue in self.queues.values():
            name = f"queue:{queue.job}"
            heartbeat = functools.partial(self.supervisor.healthy, name)
            self.supervisor.spawn(name, functools.partial(queue.run, heartbeat))
        self.supervisor.spawn(RENEWAL, self._renew_forever)
        self.supervisor.spawn(HOUSEKEEPING, self._housekeep_forever)

    async def stop(self) -> None:
        """Stop the loops; a run in progress is stopped and its triggers stay stored."""
        await self.supervisor.stop()
        self.replays.flush()
        if self._channels:
            await self._channels.zoho.aclose()
        self.history.close()
        self.lock.release()

    # ------------------------------------------------------------------ triggers
    def trigger(  # noqa: PLR0913 - keyword-only switches
        self,
        kind: Kind,
        trigger: str,
        selection: frozenset[str] | None,
        options: dict[str, Any] | None = None,
        *,
        urgent: bool = False,
        wait: bool = False,
        delivery: str | None = None,
    ) -> asyncio.Future[RunResult] | None:
        """Queue a run of the job of ``kind``; the trigger is durable when this returns.

        ``delivery`` (a digest, :mod:`.replay`) is remembered once the trigger is stored. Returns
        a future of the run's result when ``wait``; None otherwise, and also when the selection
        names nothing this job reads.
        """
        job = self.jobs[kind]
        selection = job.narrow(selection)
        if selection is not None and not selection:
            LOG.info("%s: nothing of job %s is affected; no run", trigger, job.name)
            return None
        waiter: asyncio.Future[RunResult] | None = None
        if wait:
            waiter = asyncio.get_running_loop().create_future()
        batch = Batch(
            options or {},
            selection,
            [trigger[:MAX_TRIGGER_TEXT]],
            waiters=[waiter] if waiter else [],
            urgent=urgent,
        )
        self._store(job, batch, self.queues[kind].waiting_for(batch), delivery)
        self.queues[kind].add(batch)
        return waiter

    def _store(self, job: Job, batch: Batch, joins: Batch | None, delivery: str | None) -> None:
        """Make ``batch`` durable: a new row, the row of the batch it joins widened, or nothing.

        The delivery's digest (and any not yet saved) is written in the same transaction.
        """
        now = time.time()
        if joins is not None and joins.covers(batch):
            if delivery is not None:  # its row already says all this trigger would
                self.replays.remember(delivery, now)
            return
        seen = self.replays.unsaved() + ([(delivery, now)] if delivery is not None else [])
        with self.history.transaction():
            if joins is None or joins.row_id is None:
                text = ", ".join(batch.triggers)[:MAX_TRIGGER_TEXT]
                batch.row_id = self.history.add_pending(
                    job.name, text, batch.selection, batch.options
                )
                batch.pending_ids = [batch.row_id]
            else:
                merged = dataclasses.replace(joins, triggers=list(joins.triggers), waiters=[])
                merged.absorb(batch)
                text = ", ".join(merged.triggers)[:MAX_TRIGGER_TEXT]
                self.history.widen_pending(joins.row_id, text, merged.selection)
            self.history.remember_deliveries(seen)
        if delivery is not None:
            self.replays.remember(delivery, now)
        self.replays.saved(seen)

    async def _execute(self, kind: Kind, batch: Batch, attempt: int, force: bool) -> RunResult:  # noqa: FBT001
        job = self.jobs[kind]
        trigger = ", ".join(batch.triggers)[:MAX_TRIGGER_TEXT]
        run_id = self.history.start_run(job.name, trigger, batch.selection, batch.options, attempt)
        spec = job.spec(batch.selection, batch.options, force=force, report_dir=self.report_dir)
        spec = dataclasses.replace(
            spec,
            log_path=self.report_dir / f"run-{run_id}.log",
            base_env=run_environment(
                os.environ,
                Project.read(self.settings.project_dir),
                job.name,
                job.plugins,
                self.settings.pass_env,
            ),
        )
        try:
            outcome = await self.runners[kind].run(spec, job.extractor)
        except asyncio.CancelledError:  # the runner has stopped the invocation
            self.history.finish_run(
                run_id,
                status="interrupted",
                exit_code=None,
                duration=0.0,
                records={},
                errors=["the service stopped during the run"],
                report=None,
            )
            raise
        done = outcome.succeeded or attempt >= self.settings.retry_attempts
        self.history.finish_run(
            run_id,
            status="succeeded" if outcome.succeeded else "failed",
            exit_code=outcome.exit_code,
            duration=outcome.duration,
            records=outcome.records,
            errors=outcome.errors,
            report=outcome.report(),
            served=batch.pending_ids if done else (),
        )
        (self.report_dir / f"run-{run_id - KEEP_RUN_LOGS}.log").unlink(missing_ok=True)
        if outcome.succeeded:
            LOG.info("%s run %d: %d records", job.name, run_id, sum(outcome.records.values()))
        return RunResult(outcome.succeeded, run_id, outcome)

    # ------------------------------------------------------------------ CRM callbacks
    def callback_tokens(self, channel: Channel | None) -> list[str]:
        """Tokens a CRM callback may carry: the static one, its channel's current and previous."""
        tokens = [self.settings.channel_token]
        if channel is not None:
            tokens += channel.tokens(TOKEN_GRACE_SECONDS)
        return [t for t in tokens if t]

    def watched_modules(self) -> frozenset[str]:
        """Modules a callback with the static token may name: configured, else subscribed."""
        configured = self.jobs["crm"].configured_modules()
        if configured is not None:
            return configured
        return frozenset(m for c in self.history.channels() for m in c.modules)

    # ------------------------------------------------------------------ background loops
    def channel_manager(self) -> ChannelManager:
        """The channel manager (built on first use: it needs Zoho credentials)."""
        if self._channels is None:
            zoho = ZohoChannels(self.settings.zoho_credentials())
            self._channels = ChannelManager(
                zoho, self.history, self.settings.channel_lifetime_seconds
            )
        return self._channels

    async def _renew_forever(self) -> None:
        while True:
            if self.history.channels():
                try:
                    await self.channel_manager().renew_due(
                        self.settings.channel_renew_before_seconds
                    )
                except (ChannelError, SettingsError, httpx.HTTPError) as exc:
                    LOG.warning("Channel renewal failed (will retry): %s", exc)
                    self.supervisor.trouble(RENEWAL, f"renewal failing: {exc}")
                else:
                    self.supervisor.healthy(RENEWAL)
            else:
                self.supervisor.healthy(RENEWAL)
            await asyncio.sleep(self.settings.channel_check_seconds)

    async def _housekeep_forever(self) -> None:
        while True:
            self.replays.flush()
            self.supervisor.healthy(HOUSEKEEPING)
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    # ------------------------------------------------------------------ reporting
    def health(self) -> list[str]:
        """What is wrong, one line each (nothing: healthy)."""
        problems = self.supervisor.problems()
        for channel in self.history.channels():
            try:
                expired = channel.expires_in() <= 0
            except ValueError:
                problems.append(f"channel {channel.channel_id}: unreadable channel_expiry")
                continue
            if expired:
                problems.append(f"channel {channel.channel_id} expired at {channel.channel_expiry}")
        return problems

    def status(self) -> dict[str, Any]:
        """Per job: running or not, batches waiting, stored trigger rows, the last run."""
        out = {}
        stored = self.history.pending_counts()
        for kind, job in self.jobs.items():
            queue = self.queues[kind]
            last = self.history.runs(job.name, limit=1)
            out[job.name] = {
                "kind": kind,
                "running": queue.running is not None,
                "waiting": queue.waiting,
                "pending_rows": stored.get(job.name, 0),
                "last_run": last[0] if last else None,
            }
        return out


def outcome_of(result: RunResult) -> RunOutcome:
    """The Meltano outcome a run result carries."""
    if isinstance(result.detail, RunOutcome):
        return result.detail
    return RunOutcome(None, 0.0, errors=[f"the run could not be started: {result.detail}"])
