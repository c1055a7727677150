"""The service's moving parts: a queue and a Meltano runner per job, the history, channel renewal.

Webhook handlers call :meth:`SyncService.trigger`, which persists the trigger before returning, so
the HTTP answer can go out at once and the run happen afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from typing import Any, Literal

import httpx

from .channels import ChannelError, ChannelManager, ZohoChannels
from .flight import Batch, JobQueue, RunBudget, RunResult
from .history import History
from .jobs import Job
from .runner import MeltanoRunner, RunOutcome
from .settings import Settings, SettingsError

LOG = logging.getLogger("zoho_sync_service")
Kind = Literal["crm", "finance"]
MAX_TRIGGER_TEXT = 500
KEEP_RUN_LOGS = 100


class SyncService:
    """Runs the project's Meltano jobs when Zoho says something changed."""

    def __init__(self, settings: Settings) -> None:
        """Open the history and set up a queue per job (nothing runs until :meth:`start`)."""
        self.settings = settings
        self.history = History(settings.database)
        # Beside the database: each run's Meltano log and the ERP target's report.
        self.report_dir = settings.database.parent / f"{settings.database.stem}-runs"
        self.report_dir.mkdir(parents=True, exist_ok=True)
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
        budget = RunBudget(settings.max_runs_per_window, settings.run_window_seconds)
        self.queues: dict[Kind, JobQueue] = {
            kind: JobQueue(
                job.name,
                functools.partial(self._execute, kind),
                debounce=settings.debounce_seconds,
                retry_attempts=settings.retry_attempts,
                retry_backoff=settings.retry_backoff_seconds,
                budget=budget,
            )
            for kind, job in self.jobs.items()
        }
        self._channels: ChannelManager | None = None
        self._renewal: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Recover what a previous process left, start the queues and channel renewal."""
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
                Batch(row.options, row.selection, [row.trigger], [row.id])
            )
            recovered += 1
        if recovered:
            LOG.info("Recovered %d trigger(s) not yet served by a finished run", recovered)
        for queue in self.queues.values():
            queue.start()
        self._renewal = asyncio.create_task(self._renew_forever(), name="channel-renewal")

    async def stop(self) -> None:
        """Stop renewal and queues; a run in progress is stopped and stays pending."""
        if self._renewal:
            self._renewal.cancel()
            await asyncio.gather(self._renewal, return_exceptions=True)
        await asyncio.gather(*(q.stop() for q in self.queues.values()))
        if self._channels:
            await self._channels.zoho.aclose()
        self.history.close()

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
    ) -> asyncio.Future[RunResult] | None:
        """Queue a run of the job of ``kind``; the trigger is durable when this returns.

        Returns a future of the run's result when ``wait``; None otherwise, and also when the
        selection names nothing this job reads.
        """
        job = self.jobs[kind]
        selection = job.narrow(selection)
        if selection is not None and not selection:
            LOG.info("%s: nothing of job %s is affected; no run", trigger, job.name)
            return None
        options = options or {}
        trigger = trigger[:MAX_TRIGGER_TEXT]
        pending_id = self.history.add_pending(job.name, trigger, selection, options)
        waiter: asyncio.Future[RunResult] | None = None
        if wait:
            waiter = asyncio.get_running_loop().create_future()
        self.queues[kind].add(
            Batch(
                options,
                selection,
                [trigger],
                [pending_id],
                [waiter] if waiter else [],
                urgent=urgent,
            )
        )
        return waiter

    async def _execute(self, kind: Kind, batch: Batch, attempt: int, force: bool) -> RunResult:  # noqa: FBT001
        job = self.jobs[kind]
        trigger = ", ".join(batch.triggers)[:MAX_TRIGGER_TEXT]
        run_id = self.history.start_run(job.name, trigger, batch.selection, batch.options, attempt)
        spec = job.spec(batch.selection, batch.options, force=force, report_dir=self.report_dir)
        spec = dataclasses.replace(spec, log_path=self.report_dir / f"run-{run_id}.log")
        runner = self.runners[kind]
        try:
            outcome = await runner.run(spec, job.extractor)
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
        self.history.finish_run(
            run_id,
            status="succeeded" if outcome.succeeded else "failed",
            exit_code=outcome.exit_code,
            duration=outcome.duration,
            records=outcome.records,
            errors=outcome.errors,
            report=outcome.report(),
        )
        (self.report_dir / f"run-{run_id - KEEP_RUN_LOGS}.log").unlink(missing_ok=True)
        if outcome.succeeded:
            self.history.remove_pending(batch.pending_ids)
            LOG.info("%s run %d: %d records", job.name, run_id, sum(outcome.records.values()))
        elif attempt >= self.settings.retry_attempts:
            self.history.remove_pending(batch.pending_ids)
        return RunResult(outcome.succeeded, run_id, outcome)

    # ------------------------------------------------------------------ channels
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
            await asyncio.sleep(self.settings.channel_check_seconds)

    # ------------------------------------------------------------------ reporting
    def status(self) -> dict[str, Any]:
        """Per job: running or not, batches waiting, the last run."""
        out = {}
        for kind, job in self.jobs.items():
            queue = self.queues[kind]
            last = self.history.runs(job.name, limit=1)
            out[job.name] = {
                "kind": kind,
                "running": queue.running is not None,
                "waiting": queue.waiting,
                "last_run": last[0] if last else None,
            }
        return out


def outcome_of(result: RunResult) -> RunOutcome:
    """The Meltano outcome a run result carries."""
    if isinstance(result.detail, RunOutcome):
        return result.detail
    return RunOutcome(None, 0.0, errors=[f"the run could not be started: {result.detail}"])
