"""The checked conversions of ``loadplan``: every column type with good and bad values.

Both load paths write record JSON to a batch file and convert it with the same SQL, so each case
runs on both (``load_path``) and must store the same value or be refused with the same line.
"""

from __future__ import annotations

import contextlib
import io
from datetime import date, datetime
from decimal import Decimal

import msgspec
import pytest
from target_clickhouse.errors import BadRecordError, cannot_store

from tests.support.clickhouse import record, rows, schema_message

pytestmark = pytest.mark.usefixtures("load_path")

SCHEMAS = {
    "String": {"type": ["string", "null"]},
    "Int64": {"type": ["integer", "null"]},
    "Float64": {"type": ["number", "null"]},
    "Bool": {"type": ["boolean", "null"]},
    "Date32": {"type": ["string", "null"], "format": "date"},
    "DateTime64": {"type": ["string", "null"], "format": "date-time"},
    "Decimal(18, 2)": {
        "type": ["number", "null"],
        "x-sql-datatype": "decimal",
        "x-sql-datatype-properties": {"precision": 18, "scale": 2},
    },
    "Decimal(4, 2)": {
        "type": ["number", "null"],
        "x-sql-datatype": "decimal",
        "x-sql-datatype-properties": {"precision": 4, "scale": 2},
    },
}
TYPES = {
    "DateTime64": "DateTime64(6, 'UTC')",
}


def load(target_config, database: str, kind: str, values: list) -> None:
    """One run; on the dict path through flattening (validation would refuse misfits first)."""
    from target_clickhouse.target import TargetClickHouse

    config = target_config(database)
    if config.pop("validate_records", None):
        config.update(flattening_enabled=True, flattening_max_depth=1)  # dicts; nothing to flatten
    messages = [
        schema_message("v", {"id": {"type": ["integer"]}, "c": SCHEMAS[kind]}, ["id"]),
        *(record("v", {"id": i, "c": value}) for i, value in enumerate(values)),
    ]
    encode = msgspec.json.Encoder(decimal_format="number").encode
    text = b"".join(encode(m) + b"\n" for m in messages)
    with contextlib.redirect_stdout(io.StringIO()):
        TargetClickHouse(config=config).listen(io.StringIO(text.decode()))


GOOD = [
    ("String", "text", "text"),
    ("String", True, "true"),
    ("String", 12, "12"),
    ("String", Decimal("1.50"), "1.50"),
    ("Int64", 7, 7),
    ("Int64", Decimal("7.000"), 7),
    ("Int64", 2**63 - 1, 2**63 - 1),
    ("Int64", -(2**63), -(2**63)),
    ("Float64", 1.5, 1.5),
    ("Float64", 3, 3.0),
    ("Float64", "1e3", 1000.0),
    ("Bool", True, True),
    ("Bool", 0, False),
    ("Bool", "TRUE", True),
    ("Date32", "2024-02-29", date(2024, 2, 29)),
    ("Date32", "2024-02-29T10:00:00+05:30", date(2024, 2, 29)),
    ("Date32", "1960-02-29", date(1960, 2, 29)),
    ("DateTime64", "2024-01-01T05:30:00+05:30", datetime(2024, 1, 1)),  # noqa: DTZ001
    ("DateTime64", "2024-01-01T05:30:00+0530", datetime(2024, 1, 1)),  # noqa: DTZ001
    ("DateTime64", "2024-01-01T00:00:00", datetime(2024, 1, 1)),  # noqa: DTZ001 - naive: UTC
    ("DateTime64", "2299-12-31T23:59:59.999999Z", datetime(2299, 12, 31, 23, 59, 59, 999999)),  # noqa: DTZ001
    ("Decimal(18, 2)", Decimal("462.5"), Decimal("462.50")),
    ("Decimal(18, 2)", 20041.92, Decimal("20041.92")),
    ("Decimal(18, 2)", "-3", Decimal("-3.00")),
    ("Decimal(4, 2)", Decimal("99.99"), Decimal("99.99")),
    ("Decimal(18, 2)", "1e3", Decimal("1000.00")),  # an exponent: checked at the widest scale
    ("Decimal(18, 2)", "12.5000000000000000000000000000", Decimal("12.50")),  # zeros only
]


@pytest.mark.parametrize(("kind", "value", "stored"), GOOD, ids=[f"{k}-{v!r}" for k, v, _ in GOOD])
def test_a_value_that_fits_is_stored_exactly(ch, database, kind, value, stored, target_config):
    load(target_config, database, kind, [None, value])

    assert rows(ch, f"SELECT c FROM {database}.v ORDER BY id") == [(None,), (stored,)]


BAD = [
    ("Int64", 1.5),
    ("Int64", "1.5"),
    ("Int64", ""),
    ("Int64", 2**63),
    ("Int64", -(2**63) - 1),
    ("Float64", "abc"),
    ("Bool", 2),
    ("Bool", "yes"),
    ("Date32", "2024-02-30"),
    ("Date32", "2024-02-29x"),
    ("Date32", "29/02/2024"),
    ("DateTime64", "yesterday"),
    ("DateTime64", "2024-02-30T00:00:00Z"),
    ("Decimal(18, 2)", Decimal("462.519")),  # more digits than the scale: never rounded
    ("Decimal(18, 2)", 0.125),
    ("Decimal(4, 2)", 100),  # more integer digits than the precision allows
    ("Decimal(18, 2)", "abc"),
    ("Decimal(18, 2)", "1.000000000000000000000000001"),  # a digit past Decimal128's scale
    ("Decimal(18, 2)", "1e-30"),
]


@pytest.mark.parametrize(("kind", "value"), BAD, ids=[f"{k}-{v!r}" for k, v in BAD])
def test_a_value_that_does_not_fit_is_refused_in_one_line_naming_it(
    ch, database, kind, value, target_config
):
    with pytest.raises(BadRecordError) as refused:
        load(target_config, database, kind, [None, value, None])

    ch_type = TYPES.get(kind, kind)
    shown = float(value) if isinstance(value, Decimal) else value
    assert str(refused.value) in {
        f"stream 'v': {cannot_store('c', f'Nullable({ch_type})', v)}" for v in (value, shown)
    }


def test_a_long_value_is_cut_in_the_message():
    message = cannot_store("c", "Int64", "x" * 500)

    assert message == "column 'c' (Int64): cannot store value '" + "x" * 116 + "..."
    fits = "x" * 118  # its repr, quotes included, is 120 characters
    assert cannot_store("c", "Int64", fits).endswith(f"'{fits}'")


def test_objects_and_arrays_are_compact_json_keeping_every_token_as_sent(
    ch, database, target_config
):
    from target_clickhouse.target import TargetClickHouse

    properties = {
        "id": {"type": ["integer"]},
        "obj": {"type": ["object", "null"]},
        "arr": {"type": ["array", "null"]},
    }
    schema = schema_message("v", properties, ["id"])
    # Spaced the way json.dumps writes, with a tab and a CR too; digits no float can hold.
    record_line = (
        '{"type": "RECORD", "stream": "v", "record": {"id": 1, "obj": {"amount": '
        '0.1234567890123456789,\t"big": 58431040000000015531234, "price": 1.50,\r "note": '
        '"a  b, \\" c: [d]"}, "arr": [ 1.0 , {"k": []} ]}}'
    )
    text = msgspec.json.encode(schema).decode() + "\n" + record_line + "\n"
    with contextlib.redirect_stdout(io.StringIO()):
        TargetClickHouse(config=target_config(database)).listen(io.StringIO(text))

    stored_object = (
        '{"amount":0.1234567890123456789,"big":58431040000000015531234,"price":1.50,'
        '"note":"a  b, \\" c: [d]"}'
    )
    assert rows(ch, f"SELECT obj, arr FROM {database}.v") == [(stored_object, '[1.0,{"k":[]}]')]
