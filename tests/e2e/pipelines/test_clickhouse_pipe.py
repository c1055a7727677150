"""tap-zoho piped into target-clickhouse: after full and incremental runs, ClickHouse equals Zoho.

The target runs in its own process with its own chDB path; queries run in a helper process too,
because chDB allows one data path per process and the test process may already hold another.
"""

from __future__ import annotations

from decimal import Decimal

from tests.support.compare import queries, utc
from tests.support.pipes import pipe_into_clickhouse as pipe


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
    modules = ("Leads", "Accounts", "Deals", "Contacts_X_Deals")
    tables = [f"zoho_{module.lower()}" for module in modules]
    *answers, lead_rows, region = queries(  # one helper process: starting chDB is the slow part
        ch,
        [
            *(f"SELECT id FROM {table} FINAL" for table in tables),
            *(f"SELECT count() FROM {table}_current" for table in tables),
            (
                "SELECT id, Lead_Status, Annual_Revenue, "
                "toString(Modified_Time), Last_Name FROM zoho_leads FINAL"
            ),
            f"SELECT Region_X FROM zoho_accounts FINAL WHERE id = '{account}'",
        ],
    )
    for n, module in enumerate(modules):
        expected = sandbox.records(module)
        got = {row[0]: row for row in answers[n]}
        assert set(got) == set(expected), module
        current = answers[len(modules) + n][0][0]
        assert current == len(expected), module
    rows = {r[0]: r for r in lead_rows}
    for rid, record in sandbox.records("Leads").items():
        lead_status, revenue, modified, last_name = rows[rid][1:]
        assert lead_status == record["Lead_Status"]
        assert (None if revenue is None else Decimal(revenue)) == (
            None if record["Annual_Revenue"] is None else Decimal(str(record["Annual_Revenue"]))
        )
        assert modified.startswith(utc(record["Modified_Time"]))
        assert last_name == record["Last_Name"]
    assert created in rows
    assert region == [["EMEA"]]
