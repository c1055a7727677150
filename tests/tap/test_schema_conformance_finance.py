"""Every Books and Inventory record conforms to the SCHEMA the tap emitted before it, formats included.

A full sandbox sync of every finance stream (two organisations with different custom fields, real
row shapes), then an incremental run that meets a custom field created since, then an
active-only run (its deactivation pass). Each RECORD is validated against the latest SCHEMA of
its stream with JSON Schema format checking on; ``date-time`` is checked by
``rfc3339-validator``, so a colon-less offset such as ``-0400`` is a violation.
"""

from __future__ import annotations

import pytest
from jsonschema import Draft7Validator, FormatChecker

from tests.conftest import run_tap
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG

STREAMS = {
    f"{family}_{resource}"
    for family in ("books", "inventory")
    for resource in ("items", "contacts", "pricebooks")
}
CHECKER = FormatChecker()


def violations(messages):
    """Every record that does not conform to its stream's latest SCHEMA."""
    validators = {}
    found = []
    for message in messages:
        if message["type"] == "SCHEMA":
            Draft7Validator.check_schema(message["schema"])
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=CHECKER
            )
        elif message["type"] == "RECORD":
            validator = validators.get(message["stream"])
            if validator is None:
                found.append(f"{message['stream']}: RECORD before any SCHEMA")
                continue
            found += [
                f"{message['stream']} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(message["record"])
            ]
    return found


def test_the_format_checker_rejects_colon_less_offsets():
    schema = {"properties": {"t": {"type": "string", "format": "date-time"}}}
    assert CHECKER.conforms("2025-05-15T13:44:25-04:00", "date-time")
    assert not CHECKER.conforms("2025-05-15T13:44:25-0400", "date-time")
    messages = [
        {"type": "SCHEMA", "stream": "s", "schema": schema, "key_properties": []},
        {"type": "RECORD", "stream": "s", "record": {"t": "2025-05-15T13:44:25-0400"}},
    ]
    assert len(violations(messages)) == 1


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
