"""Every CRM record the tap emits conforms to the SCHEMA it emitted, formats included.

Validated with jsonschema's format checker; ``date-time`` is only checked when
``rfc3339-validator`` is installed, so the test first proves the checker really checks it.
"""

from __future__ import annotations

from tests.support.conformance import violations
from tests.support.tap import run_tap


def test_every_record_of_a_full_and_an_incremental_crm_sync_conforms_to_its_schema(full_sandbox):
    sandbox = full_sandbox
    config = sandbox.tap_config()
    first = run_tap(config)
    leads = sorted(sandbox.records("Leads"))
    sandbox.update("Leads", leads[0], {"Lead_Status": "Lost"})
    sandbox.create("Quotes", {"Subject": "New", "Quoted_Items": []})
    sandbox.delete("Deals", sorted(sandbox.records("Deals"))[0])

    second = run_tap(config, state=first.state)

    assert first.error is None
    assert second.error is None
    streams = {s for s, records in first.records.items() if records}
    assert {"leads", "deals", "quotes", "invoices", "sales_orders", "purchase_orders"} <= streams
    assert sum(len(r) for r in first.records.values()) > 3000
    assert violations(first.messages) == []
    assert violations(second.messages) == []


def test_a_value_breaking_its_schema_is_reported(sandbox):
    field = next(
        f.api_name for f in sandbox.store.modules["Accounts"].fields if f.data_type == "date"
    )
    rid = sorted(sandbox.records("Accounts"))[0]
    sandbox.update("Accounts", rid, {field: "05/01/2024", "Employees": "12"})

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    found = violations(run.messages)
    assert len(found) == 2
    assert all(line.startswith(f"accounts {rid} ") for line in found)
