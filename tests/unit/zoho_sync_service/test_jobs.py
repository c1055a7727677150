"""Scheduling of runs (zoho_sync_service.flight): debounce, one follow-up, max delay, retries, budget.

The tests drive the real :class:`JobQueue` with a stand-in for ``meltano run`` that only records
when it was called: timing rules are what is under test here (the end-to-end tests run the real
Meltano CLI)."""

from __future__ import annotations

import asyncio
import time

from zoho_sync_service.flight import Batch, JobQueue, RunBudget, RunResult


# ---------------------------------------------------------------------- scheduling
class FakeMeltano:
    """Records each run's start and end; each run takes ``seconds``; fails the first ``fail``."""

    def __init__(self, seconds: float = 0.2, fail: int = 0) -> None:
        self.seconds = seconds
        self.fail = fail
        self.calls: list[tuple[float, float, frozenset | None, int]] = []

    async def __call__(self, batch: Batch, attempt: int, force: bool) -> RunResult:
        start = time.monotonic()
        await asyncio.sleep(self.seconds)
        self.calls.append((start, time.monotonic(), batch.selection, attempt))
        ok = len(self.calls) > self.fail
        return RunResult(ok, len(self.calls))


def queue_with(fake: FakeMeltano, **kwargs) -> JobQueue:
    settings = {"debounce": 0.3, "retry_attempts": 3, "retry_backoff": 0.1, **kwargs}
    return JobQueue("job", fake, **settings)


async def settle(queue: JobQueue, limit: float = 10) -> None:
    deadline = time.monotonic() + limit
    while queue.running or queue.waiting:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)


def batch(module: str | None) -> Batch:
    return Batch({}, frozenset({module}) if module else None, [f"t:{module}"])


def test_a_burst_of_triggers_within_the_debounce_window_makes_one_run():
    async def scenario():
        fake = FakeMeltano()
        queue = queue_with(fake)
        queue.start()
        for module in ["Leads"] * 8 + ["Deals", "Leads"]:
            queue.add(batch(module))
            await asyncio.sleep(0.02)
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert len(calls) == 1
    assert calls[0][2] == {"Leads", "Deals"}


def test_triggers_during_a_run_make_exactly_one_follow_up_after_it():
    async def scenario():
        fake = FakeMeltano(seconds=0.6)
        queue = queue_with(fake, debounce=0.05)
        queue.start()
        queue.add(batch("Leads"))
        while not queue.running:  # noqa: ASYNC110 - polling the state under test
            await asyncio.sleep(0.01)
        for module in ("Deals", "Leads", "Accounts", "Deals"):
            queue.add(batch(module))
            await asyncio.sleep(0.05)
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert len(calls) == 2
    assert calls[1][0] >= calls[0][1]  # single flight: the follow-up starts after the run
    assert calls[1][2] == {"Deals", "Leads", "Accounts"}


def test_a_steady_stream_cannot_postpone_the_run_past_max_delay():
    async def scenario():
        fake = FakeMeltano(seconds=0.05)
        queue = queue_with(fake, debounce=0.2, max_delay=0.6)
        queue.start()
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            queue.add(batch("Leads"))
            await asyncio.sleep(0.1)
        await settle(queue)
        await queue.stop()
        return started, fake.calls

    started, calls = asyncio.run(scenario())
    assert calls[0][0] - started < 0.9


def test_a_failed_run_is_retried_with_backoff_and_absorbs_new_triggers():
    async def scenario():
        fake = FakeMeltano(seconds=0.05, fail=2)
        queue = queue_with(fake, debounce=0.05, retry_backoff=0.2)
        queue.start()
        queue.add(batch("Leads"))
        while not fake.calls:  # noqa: ASYNC110 - polling the state under test
            await asyncio.sleep(0.01)
        queue.add(batch("Deals"))
        await settle(queue)
        await queue.stop()
        return fake.calls

    calls = asyncio.run(scenario())
    assert [c[3] for c in calls] == [1, 2, 3]
    assert calls[1][0] - calls[0][1] >= 0.2
    assert calls[2][0] - calls[1][1] >= 0.4  # exponential
    assert calls[2][2] == {"Leads", "Deals"}


def test_runs_beyond_the_budget_wait_for_the_window():
    async def scenario():
        fake = FakeMeltano(seconds=0.01)
        budget = RunBudget(2, 1.0)
        queue = queue_with(fake, debounce=0.0, budget=budget)
        queue.start()
        started = time.monotonic()
        for module in ("A", "B", "C"):
            queue.add(Batch({"n": module}, frozenset({module}), [module], urgent=True))
            await asyncio.sleep(0.05)
        await settle(queue)
        await queue.stop()
        return started, fake.calls

    started, calls = asyncio.run(scenario())
    assert len(calls) == 3
    assert calls[1][0] - started < 0.5
    assert calls[2][0] - calls[0][0] >= 0.95  # the third start waited for the window


# ---------------------------------------------------------------------- HTTP, with a stand-in CLI
