"""End to end through the real Meltano CLI, against the Zoho sandbox.

Each test gets its own sandbox (in this process, so faults can be injected), its own Meltano
system database (so state never leaks between tests) and its own ClickHouse data directory.
ClickHouse is queried from a helper process: chDB allows one data path per process.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.compare import queries
from tests.support.meltano import (
    CRM,
    SKIP_REASON,
    assert_clickhouse_equals_sandbox,
    assert_erp_holds_the_books_organisation,
    erp_meltano_env,
    meltano,
    meltano_env,
)
from tests.support.paths import MELTANO, REPO
from tests.support.tap import run_tap


def readme_line_item_view() -> str:
    """The ``CREATE VIEW`` of tap-zoho's README ("Line items as rows"), as users copy it."""
    text = (REPO / "tap-zoho" / "README.md").read_text()
    block = text.split("### Line items as rows", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return next(part for part in block.split(";") if "CREATE VIEW" in part).strip()


pytestmark = pytest.mark.skipif(not MELTANO.exists(), reason=SKIP_REASON)


def test_full_then_incremental_run_leaves_clickhouse_equal_to_the_sandbox(
    sandbox, tmp_path, meltano_project
):
    env = meltano_env(sandbox, tmp_path)
    meltano(env, "run", "crm-to-clickhouse", cwd=meltano_project)
    leads = sorted(sandbox.records("Leads"))
    for rid in leads[:5]:
        sandbox.update("Leads", rid, {"Lead_Status": "Lost", "Annual_Revenue": 10.5})
    sandbox.create("Leads", {"Last_Name": "Newcomer", "Owner": {"name": "Bo", "id": "1"}})
    sandbox.delete("Leads", leads[20])
    sandbox.delete("Deals", sorted(sandbox.records("Deals"))[0], permanent=True)
    sandbox.add_field("Accounts", "Region_X", default=None)
    account = sorted(sandbox.records("Accounts"))[2]
    sandbox.update("Accounts", account, {"Region_X": "EMEA"})
    calls_before = sandbox.stats.requests["records"]

    second = meltano(env, "run", "crm-to-clickhouse", cwd=meltano_project)

    assert sandbox.stats.requests["records"] - calls_before < 20  # incremental, not a full read
    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")
    # One helper process for the rest (starting the engine is the slow part).
    region, _, quoted_items = queries(
        tmp_path / "clickhouse",
        [
            f"SELECT Region_X FROM zoho_accounts FINAL WHERE id = '{account}'",
            readme_line_item_view(),
            "SELECT quote_id, line_item_id, product_id, quantity, net_total FROM zoho_quoted_items",
        ],
    )
    assert region == [["EMEA"]]
    state = json.loads(
        meltano(env, "state", "get", "sandbox:tap-zoho-to-target-clickhouse", cwd=meltano_project)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert state["singer_state"]["bookmarks"]["leads"]["replication_key_value"]
    assert "Sync summary" in second.stderr
    converted = [r for r in sandbox.records("Leads").values() if r["Converted__s"]]
    assert converted  # compared above with every other lead, like the unapproved ones
    items = {(row[0], row[1]): row[2:] for row in quoted_items}
    expected = {
        (rid, item["id"]): [item["Product_Name"]["id"], item["Quantity"], item["Net_Total"]]
        for rid, quote in sandbox.records("Quotes").items()
        for item in quote["Quoted_Items"]
    }
    assert items.keys() == expected.keys()
    for key, (product, quantity, net_total) in items.items():
        assert [product, quantity, Decimal(str(net_total))] == [
            expected[key][0],
            expected[key][1],
            Decimal(str(expected[key][2])),
        ]


def test_the_products_job_loads_the_erp(finance, tmp_path, erp_db, meltano_project):
    env = erp_meltano_env(finance, tmp_path, erp_db)

    meltano(env, "run", "products-to-erp", cwd=meltano_project)

    assert_erp_holds_the_books_organisation(finance, erp_db, tmp_path / "report.json")


def saved_state(database: Path, stream: str = "leads") -> str:
    """The state Meltano has committed so far (it saves it while the run goes on), once it holds
    a bookmark of ``stream`` (modules are read side by side: small ones finish first)."""
    try:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT completed_state FROM state").fetchall()
    except sqlite3.Error:
        return ""
    if not rows or not rows[0][0]:
        return ""
    state = json.loads(rows[0][0])
    bookmark = state.get("singer_state", state).get("bookmarks", {}).get(stream, {})
    return rows[0][0] if bookmark.get("replication_key_value") else ""


def test_a_run_killed_halfway_resumes_with_nothing_lost_or_duplicated(
    sandbox, tmp_path, meltano_project
):
    env = meltano_env(sandbox, tmp_path, TARGET_CLICKHOUSE_FLUSH_INTERVAL_SECONDS="1")
    sandbox.faults.latency_seconds = 0.2  # slow enough to be killed mid-way
    proc = subprocess.Popen(
        [str(MELTANO), "run", "crm-to-clickhouse"],
        cwd=meltano_project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    saved = ""
    while time.monotonic() < deadline and proc.poll() is None and not saved:
        time.sleep(0.5)
        saved = saved_state(tmp_path / "meltano.db")
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)  # like a machine going down: no clean shutdown
    proc.wait()
    assert '"replication_key_value"' in saved
    sandbox.faults.latency_seconds = 0
    calls_before = sandbox.stats.requests["records"]

    # The killed run's job record looks "running" until it goes stale: --force resumes now.
    meltano(env, "run", "--force", "crm-to-clickhouse", cwd=meltano_project)

    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")
    resumed_calls = sandbox.stats.requests["records"] - calls_before
    before_full = sandbox.stats.requests["records"]
    run_tap(sandbox.tap_config(crm_modules=CRM))  # what a run without state would read
    full_calls = sandbox.stats.requests["records"] - before_full
    assert resumed_calls < full_calls  # the resumed run started from the saved state
