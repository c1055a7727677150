"""Reading lines: any valid JSON a tap may send is read; invalid JSON stays one short error."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from singer_sdk.exceptions import InvalidInputLine
from target_tsh_postgres.reader import ErpReader
from target_tsh_postgres.storable import TooDeep


def _read(line: str) -> dict:
    return ErpReader().deserialize_json(line)


def test_a_lone_surrogate_escape_msgspec_refuses_is_read():
    message = _read('{"type": "RECORD", "stream": "s", "record": {"name": "half \\ud83d"}}')

    assert message["record"]["name"] == "half \ud83d"


def test_numbers_beyond_a_float_are_read_exactly():
    message = _read('{"type": "RECORD", "stream": "s", "record": {"rate": 1e400, "n": -2.5}}')

    assert message["record"] == {"rate": Decimal("1e400"), "n": Decimal("-2.5")}


@pytest.mark.parametrize(
    "line", ["{not json", '{"rate": NaN}', '{"rate": Infinity}', '{"a": 1e400']
)
def test_invalid_json_is_one_short_error(line):
    with pytest.raises(InvalidInputLine, match="invalid JSON on input"):
        _read(line)


def test_a_record_too_deep_to_decode_keeps_its_other_properties_and_marks_the_deep_one():
    deep = "[" * 5_000 + "1" + "]" * 5_000
    line = (
        '{"type": "RECORD", "stream": "books_items", "record": {"item_id": "7", '
        f'"tree": {deep}, "name": "A \\"quoted\\" {{name}}", "n": 3}}, "version": 2}}'
    )

    message = _read(line)

    assert message["type"] == "RECORD"
    assert message["version"] == 2
    record = message["record"]
    assert (record["item_id"], record["name"], record["n"]) == ("7", 'A "quoted" {name}', 3)
    assert isinstance(record["tree"], TooDeep)


def test_a_message_too_deep_outside_its_record_is_one_short_error():
    deep = "[" * 5_000 + "]" * 5_000
    with pytest.raises(InvalidInputLine, match="nested deeper"):
        _read(json.dumps({"type": "SCHEMA", "stream": "s"})[:-1] + f', "schema": {deep}}}')
