"""Every Books and Inventory record conforms to the SCHEMA the tap emitted before it, formats included.

A full sandbox sync of every finance stream (two organisations with different custom fields, real
row shapes), then an incremental run that meets a custom field created since, then an
active-only run (its deactivation pass). Each RECORD is validated against the latest SCHEMA of
its stream with JSON Schema format checking on; ``date-time`` is checked by
``rfc3339-validator``, so a colon-less offset such as ``-0400`` is a violation.
"""

from __future__ import annotations

import pytest

from tests.support.conformance import violations
from tests.support.tap import run_tap
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG

STREAMS = {
    f"{family}_{resource}"
    for family in ("books", "inventory")
    for resource in ("items", "contacts", "pricebooks")
}


@pytest.mark.parametrize("active_only", [False, True])
def test_every_finance_record_of_a_full_and_an_incremental_sync_conforms(finance, active_only):
    config = finance.tap_config(
        crm_enabled=False,
        books_organization_id=[BOOKS_ORG, SECOND_ORG],
        inventory_organization_id=[BOOKS_ORG, SECOND_ORG],
        items_active_only=active_only,
        page_size=70,
    )
    full = run_tap(config)
    org = finance.finance.orgs[BOOKS_ORG]
    finance.finance.add_custom_field(BOOKS_ORG, "items", "bin_date")
    changed = sorted(org.items)[:3]
    for n, item_id in enumerate(changed):
        finance.finance.update_item(
            BOOKS_ORG,
            item_id,
            {
                "status": "inactive",
                "reorder_level": "",
                "tax_percentage": "7.5%",
                "cf_bin_date": "01/02/2026",
                "cf_bin_date_unformatted": f"2026-02-0{n + 1}",
            },
        )
    incremental = run_tap(config, state=full.state)

    assert full.error is None
    assert incremental.error is None
    assert {m["stream"] for m in full.messages if m["type"] == "RECORD"} == STREAMS
    assert {r["item_id"] for r in incremental.records["books_items"]} == set(changed)
    assert "cf_bin_date" in incremental.schemas["books_items"]["properties"]
    problems = violations(full.messages) + violations(incremental.messages)
    assert not problems, problems[:20]
