"""One ``meltano run`` of the CRM job through Zoho's bad moments, read by several tests.

The run meets 429s, 500s and an access token revoked mid-run, logs at debug level and has a
ClickHouse password set: it completes with ClickHouse equal to the sandbox, and none of the
secrets it handled (the refreshed token included) reaches its output or its log files. One run
serves both (a Meltano run costs seconds of CPU); ``tests/support/scheduling.py`` keeps this
module's tests in one process so the run happens once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.meltano import (
    SKIP_REASON,
    assert_clickhouse_equals_sandbox,
    meltano,
    meltano_env,
    project_copy,
)
from tests.support.paths import MELTANO
from tests.support.worlds import small_world
from tests.zoho_sandbox import Sandbox

pytestmark = pytest.mark.skipif(not MELTANO.exists(), reason=SKIP_REASON)

IN_FLIGHT = 4  # the tap's max_concurrent_calls
CLICKHOUSE_PASSWORD = "ch-pass-never-printed"


@dataclass
class TroubledRun:
    """The sandbox after the run, the run's environment, project and output."""

    sandbox: Sandbox
    env: dict[str, str]
    project: Path
    clickhouse: Path
    output: str


@pytest.fixture(scope="module")
def troubled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TroubledRun]:
    tmp = tmp_path_factory.mktemp("meltano-under-faults")
    sandbox = Sandbox(specs=small_world())
    sandbox.start()
    try:
        env = meltano_env(
            sandbox,
            tmp,
            TAP_ZOHO_MAX_CONCURRENT_CALLS=str(IN_FLIGHT),
            TARGET_CLICKHOUSE_PASSWORD=CLICKHOUSE_PASSWORD,
        )
        sandbox.faults.inject("429", times=6, path_contains="/crm/v8/Leads")
        sandbox.faults.inject("500", times=2, path_contains="/crm/v8/Accounts")
        sandbox.faults.revoke_after_calls = 12
        project = project_copy(tmp / "project")

        result = meltano(env, "--log-level=debug", "run", "crm-to-clickhouse", cwd=project)

        yield TroubledRun(sandbox, env, project, tmp / "clickhouse", result.stdout + result.stderr)
    finally:
        sandbox.stop()


def test_a_run_under_429s_and_token_revocation_completes(troubled: TroubledRun) -> None:
    sandbox = troubled.sandbox
    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] == 6
    # Every call in flight when Zoho revoked the token carried it and is refused once (at most
    # max_concurrent_calls of them, whatever reads them: modules, field groups, detail reads,
    # the reference data); the tap refreshes the token once and sends each of them again.
    assert 1 <= sandbox.stats.requests["INVALID_TOKEN"] <= IN_FLIGHT
    # Meltano runs the tap twice (discovery, then sync): one token each, plus one refresh.
    assert sandbox.accounts.mint_count == 3
    assert_clickhouse_equals_sandbox(sandbox, troubled.clickhouse)


def test_no_secret_appears_in_the_logs_of_a_run(troubled: TroubledRun) -> None:
    secrets: list[Any] = [
        troubled.env["TAP_ZOHO_CLIENT_SECRET"],
        troubled.env["TAP_ZOHO_REFRESH_TOKEN"],
        CLICKHOUSE_PASSWORD,
        *troubled.sandbox.accounts.minted,  # the revoked ones and their replacement
    ]
    assert len(troubled.sandbox.accounts.minted) == 3
    logs = troubled.output
    for log_file in (troubled.project / ".meltano" / "logs").rglob("*.log"):
        if log_file.stat().st_mtime >= time.time() - 600:
            logs += log_file.read_text(errors="replace")
    assert "Sync summary" in logs  # the debug log of the whole run is what is searched
    for secret in secrets:
        assert secret not in logs
