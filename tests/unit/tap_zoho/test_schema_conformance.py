"""The format checker the schema-conformance tests use really checks dates and date-times."""

from __future__ import annotations

from jsonschema import Draft7Validator

from tests.support.conformance import CHECKER, violations


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


def test_the_format_checker_rejects_colon_less_offsets():
    schema = {"properties": {"t": {"type": "string", "format": "date-time"}}}
    assert CHECKER.conforms("2025-05-15T13:44:25-04:00", "date-time")
    assert not CHECKER.conforms("2025-05-15T13:44:25-0400", "date-time")
    messages = [
        {"type": "SCHEMA", "stream": "s", "schema": schema, "key_properties": []},
        {"type": "RECORD", "stream": "s", "record": {"t": "2025-05-15T13:44:25-0400"}},
    ]
    assert len(violations(messages)) == 1
