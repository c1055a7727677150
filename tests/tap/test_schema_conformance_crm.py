"""Every CRM record the tap emits conforms to the SCHEMA it emitted, formats included.

Validated with jsonschema's format checker; ``date-time`` is only checked when
``rfc3339-validator`` is installed, so the test first proves the checker really checks it.
"""

from __future__ import annotations

from jsonschema import Draft7Validator

from tests.conftest import run_tap

CHECKER = Draft7Validator.FORMAT_CHECKER


def violations(run) -> list[str]:
    """Every record that breaks the SCHEMA last emitted for its stream, as readable lines."""
    problems: list[str] = []
    validators: dict[str, Draft7Validator] = {}
    for message in run.messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=CHECKER
            )
        elif message["type"] == "RECORD":
            record = message["record"]
            for error in validators[message["stream"]].iter_errors(record):
                where = "/".join(str(p) for p in error.absolute_path)
                problems.append(f"{message['stream']} {record.get('id')} {where}: {error.message}")
    return problems


def test_the_format_checker_checks_dates_and_datetimes():
    schema = {
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "on": {"type": "string", "format": "date"},
        }
    }
    validator = Draft7Validator(schema, format_checker=CHECKER)

    assert {"date-time", "date"} <= set(CHECKER.checkers)
    assert validator.is_valid({"at": "2024-01-05T10:20:30+05:30", "on": "2024-01-05"})
    assert not validator.is_valid({"at": "2024-01-05T10:20:30+0530"})
    assert not validator.is_valid({"on": "2024-13-05"})


def test_every_record_of_a_full_and_an_incremental_crm_sync_conforms_to_its_schema(sandbox):
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
    assert violations(first) == []
    assert violations(second) == []


def test_a_value_breaking_its_schema_is_reported(sandbox):
    field = next(
        f.api_name for f in sandbox.store.modules["Accounts"].fields if f.data_type == "date"
    )
    rid = sorted(sandbox.records("Accounts"))[0]
    sandbox.update("Accounts", rid, {field: "05/01/2024", "Employees": "12"})

    run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))

    found = violations(run)
    assert len(found) == 2
    assert all(line.startswith(f"accounts {rid} ") for line in found)
