"""tap-zoho piped into target-clickhouse: after full and incremental runs, ClickHouse equals Zoho.

The target runs in its own process with its own chDB path; queries run in a helper process too,
because chDB allows one data path per process and the test process may already hold another.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from tests.conftest import shell_pipe, write_json
from tests.e2e.compare import query

BIN = Path(sys.executable).parent


def pipe(tmp_path: Path, tap_config: dict, state: dict | None) -> dict:
    tap_args = [
        str(BIN / "tap-zoho"),
        "--config",
        str(write_json(tmp_path / "tap.json", tap_config)),
    ]
    if state:
        tap_args += ["--state", str(write_json(tmp_path / "state.json", state))]
    target_config = write_json(
        tmp_path / "target.json", {"path": str(tmp_path / "ch"), "table_prefix": "zoho_"}
    )
    target = shell_pipe(tap_args, [str(BIN / "target-clickhouse"), "--config", str(target_config)])
    return json.loads(target.stdout.strip().splitlines()[-1])


def utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_full_then_incremental_leaves_clickhouse_equal_to_the_sandbox(sandbox, tmp_path):
    config = sandbox.tap_config(
        crm_modules=["Leads", "Accounts", "Deals", "Contacts_X_Deals"], progress_interval_seconds=0
    )
    state = pipe(tmp_path, config, None)
    leads = sorted(sandbox.records("Leads"))
    for rid in leads[:4]:
        sandbox.update("Leads", rid, {"Lead_Status": "Lost", "Annual_Revenue": 1234.56})
    created = sandbox.create("Leads", {"Last_Name": "Zed", "Annual_Revenue": 99.99})
    sandbox.delete("Leads", leads[10])
    sandbox.delete("Accounts", sorted(sandbox.records("Accounts"))[0], permanent=True)
    sandbox.add_field("Accounts", "Region_X", default=None)
    account = sorted(sandbox.records("Accounts"))[1]
    sandbox.update("Accounts", account, {"Region_X": "EMEA"})

    pipe(tmp_path, config, state)

    ch = tmp_path / "ch"
    for module in ("Leads", "Accounts", "Deals", "Contacts_X_Deals"):
        table = f"zoho_{module.lower()}"
        expected = sandbox.records(module)
        got = {row[0]: row for row in query(ch, f"SELECT id FROM {table} FINAL")}
        assert set(got) == set(expected), module
        current = query(ch, f"SELECT count() FROM {table}_current")[0][0]
        assert current == len(expected), module
    rows = {
        r[0]: r
        for r in query(
            ch,
            "SELECT id, Lead_Status, Annual_Revenue, "
            "toString(Modified_Time), Last_Name FROM zoho_leads FINAL",
        )
    }
    for rid, record in sandbox.records("Leads").items():
        lead_status, revenue, modified, last_name = rows[rid][1:]
        assert lead_status == record["Lead_Status"]
        assert (None if revenue is None else Decimal(revenue)) == (
            None if record["Annual_Revenue"] is None else Decimal(str(record["Annual_Revenue"]))
        )
        assert modified.startswith(utc(record["Modified_Time"]))
        assert last_name == record["Last_Name"]
    assert created in rows
    assert query(ch, f"SELECT Region_X FROM zoho_accounts FINAL WHERE id = '{account}'") == [
        ["EMEA"]
    ]
