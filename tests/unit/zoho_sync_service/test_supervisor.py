"""Background loops are restarted when they die, and reported until they are well again."""

from __future__ import annotations

import asyncio

from zoho_sync_service.supervisor import Supervisor


def test_a_loop_that_raises_is_restarted_and_reported_until_a_good_cycle():
    async def scenario():
        supervisor = Supervisor(first_backoff=0.05)
        starts = []
        release = asyncio.Event()

        async def loop() -> None:
            starts.append(len(starts))
            if len(starts) <= 2:
                raise ValueError("Invalid isoformat string: 'garbage'")
            await release.wait()
            supervisor.healthy("renewal")
            await asyncio.sleep(3600)

        supervisor.spawn("renewal", loop)
        for _ in range(500):  # polling the state under test, for five seconds at most
            if len(starts) >= 3:
                break
            await asyncio.sleep(0.01)
        unwell = supervisor.problems()
        status = supervisor.status()["renewal"]
        release.set()
        await asyncio.sleep(0.05)
        well = supervisor.problems()
        await supervisor.stop()
        return unwell, status, well, supervisor.status()["renewal"]

    unwell, status, well, stopped = asyncio.run(scenario())
    (problem,) = unwell
    assert problem.startswith("renewal: crashed (ValueError: Invalid isoformat string")
    assert status["restarts"] == 2
    assert status["running"]
    assert well == []
    assert not stopped["running"]


def test_a_loop_that_reports_trouble_keeps_running_and_is_reported():
    async def scenario():
        supervisor = Supervisor()

        async def loop() -> None:
            supervisor.trouble("renewal", "renewal failing: HTTP 401 INVALID_TOKEN")
            await asyncio.sleep(3600)

        supervisor.spawn("renewal", loop)
        await asyncio.sleep(0.05)
        problems = supervisor.problems()
        await supervisor.stop()
        return problems

    (problem,) = asyncio.run(scenario())
    assert "renewal failing: HTTP 401 INVALID_TOKEN" in problem


def test_a_loop_that_returns_is_started_again():
    async def scenario():
        supervisor = Supervisor(first_backoff=0.01)
        runs = []

        async def loop() -> None:
            runs.append(1)
            if len(runs) > 1:
                await asyncio.sleep(3600)

        supervisor.spawn("queue", loop)
        await asyncio.sleep(0.1)
        await supervisor.stop()
        return len(runs)

    assert asyncio.run(scenario()) == 2


def test_a_queue_loop_that_dies_mid_batch_loses_neither_its_triggers_nor_its_waiters():
    from zoho_sync_service.flight import Batch, JobQueue, RunBudget, RunResult

    class FlakyBudget(RunBudget):
        """The second acquisition (the retry's) raises, as a bug in that path would."""

        def __init__(self) -> None:
            super().__init__(0, 0.0)
            self.calls = 0

        async def acquire(self) -> None:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("budget bug")

    async def scenario():
        attempts = []

        async def execute(batch: Batch, attempt: int, force: bool) -> RunResult:
            attempts.append((sorted(batch.selection or []), attempt))
            return RunResult(len(attempts) > 1, len(attempts))

        queue = JobQueue("job", execute, debounce=0, retry_attempts=3, retry_backoff=0.01)
        queue.budget = FlakyBudget()
        supervisor = Supervisor(first_backoff=0.01)
        supervisor.spawn("queue:job", queue.run)
        waiter = asyncio.get_running_loop().create_future()
        queue.add(Batch({}, frozenset({"Leads"}), ["t"], [1], [waiter]))
        result = await asyncio.wait_for(waiter, 5)
        restarts = supervisor.status()["queue:job"]["restarts"]
        await supervisor.stop()
        return attempts, result, restarts

    attempts, result, restarts = asyncio.run(scenario())
    assert restarts == 1
    assert attempts == [(["Leads"], 1), (["Leads"], 1)]  # the batch came back and ran
    assert result.succeeded
