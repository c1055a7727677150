"""The pure converters of the dict path: every column type with good and bad values.

``convert_column`` tries the whole-column fast conversions first; a column holding anything
unexpected goes value by value (the slow path), so the first misfit is named. Both are checked
here, without an engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from target_clickhouse import convert
from target_clickhouse.convert import BadValueError, convert_column, converter

DT = "DateTime64(6, 'UTC')"
MICROS_2024 = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("ch_type", "value", "expected"),
    [
        ("String", "text", "text"),
        ("String", True, "true"),
        ("String", False, "false"),
        ("String", 12, "12"),
        ("String", Decimal("1.50"), "1.50"),
        ("String", {"a": [1, Decimal("2.5")]}, '{"a":[1,2.5]}'),
        ("String", datetime(2024, 1, 1, tzinfo=UTC), "2024-01-01T00:00:00+00:00"),
        ("Int64", 7, 7),
        ("Int64", 7.0, 7),
        ("Int64", Decimal("7.000"), 7),
        ("Int64", " -42", -42),
        ("Int64", 2**63 - 1, 2**63 - 1),
        ("Float64", 1.5, 1.5),
        ("Float64", 3, 3.0),
        ("Float64", Decimal("2.25"), 2.25),
        ("Float64", "1e3", 1000.0),
        ("Bool", True, True),
        ("Bool", 0, False),
        ("Bool", 1, True),
        ("Bool", "TRUE", True),
        ("Bool", "false", False),
        ("Date32", "2024-02-29", date(2024, 2, 29)),
        ("Date32", "2024-02-29T10:00:00+05:30", date(2024, 2, 29)),
        ("Date32", date(2024, 3, 1), date(2024, 3, 1)),
        ("Date32", datetime(2024, 3, 1, 23, 0, tzinfo=UTC), date(2024, 3, 1)),
        (DT, "2024-01-01T00:00:00Z", MICROS_2024),
        (DT, "2024-01-01T05:30:00+05:30", MICROS_2024),
        (DT, "2024-01-01T00:00:00", MICROS_2024),  # naive: UTC
        (DT, datetime(2024, 1, 1, tzinfo=UTC), MICROS_2024),
        (DT, datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), MICROS_2024),
        ("Decimal(18, 2)", Decimal("462.5"), Decimal("462.50")),
        ("Decimal(18, 2)", 20041.92, Decimal("20041.92")),
        ("Decimal(18, 2)", "-3", Decimal("-3.00")),
        ("Decimal(18, 2)", 5, Decimal("5.00")),
        ("Decimal(4, 2)", Decimal("99.99"), Decimal("99.99")),
        ("JSON", {"a": 1}, {"a": 1}),
        ("JSON", None, {}),
        ("JSON", [1, 2], {"value": [1, 2]}),
        ("Array(String)", 5, "5"),  # any other type: its text
    ],
)
def test_each_converter_stores_what_fits(ch_type, value, expected):
    assert converter(ch_type)(value) == expected
    assert converter(f"Nullable({ch_type})")(None) in (None, {})


@pytest.mark.parametrize(
    ("ch_type", "value"),
    [
        ("Int64", 1.5),
        ("Int64", "1.5"),
        ("Int64", ""),
        ("Int64", True),
        ("Int64", 2**63),
        ("Int64", -(2**63) - 1),
        ("Int64", [1]),
        ("Float64", True),
        ("Float64", "abc"),
        ("Float64", {"a": 1}),
        ("Bool", 2),
        ("Bool", "yes"),
        ("Bool", 1.5),
        ("Date32", "2024-02-30"),
        ("Date32", "2024-02-29x"),
        ("Date32", "29/02/2024"),
        ("Date32", 20240229),
        (DT, "yesterday"),
        (DT, 1_704_067_200),
        (DT, ["2024-01-01T00:00:00Z"]),
        ("Decimal(18, 2)", Decimal("462.519")),  # more digits than the scale: never rounded
        ("Decimal(18, 2)", 0.125),
        ("Decimal(4, 2)", Decimal(100)),  # more integer digits than the precision allows
        ("Decimal(18, 2)", "NaN"),
        ("Decimal(18, 2)", "abc"),
        ("Decimal(18, 2)", True),
        ("Decimal(18, 2)", [1]),
    ],
)
def test_each_converter_refuses_what_does_not_fit(ch_type, value):
    with pytest.raises((TypeError, ValueError, ArithmeticError)):
        converter(ch_type)(value)
    with pytest.raises(BadValueError, match=r"column 'c' \(Nullable\(") as refused:
        convert_column("c", f"Nullable({ch_type})", [None, value])
    assert str(refused.value).endswith(f"cannot store value {value!r}"[:60]) or "..." in str(
        refused.value
    )


def test_a_column_of_mixed_values_goes_value_by_value_and_names_the_misfit():
    values = [Decimal("1.25"), 3, "4.5", None]

    assert convert_column("m", "Nullable(Decimal(18, 2))", values) == [
        Decimal("1.25"),
        Decimal("3.00"),
        Decimal("4.50"),
        None,
    ]
    with pytest.raises(BadValueError, match=r"column 'm' \(Nullable\(Int64\)\): .*'x'"):
        convert_column("m", "Nullable(Int64)", [1, "2", "x"])


def test_columns_of_the_right_python_type_pass_through_unchanged():
    values = ["a", None, "b"]

    assert convert_column("s", "Nullable(String)", values) is values
    assert convert_column("i", "Nullable(Int64)", [1, None]) == [1, None]
    with pytest.raises(BadValueError, match="cannot store value None"):
        convert_column("k", "String", ["a", None])  # a key column is never null


def test_a_long_value_is_cut_in_the_message():
    error = BadValueError("c", "Int64", "x" * 500)

    assert len(str(error)) < 200
    assert str(error).endswith("...")
    assert error.column == "c"


def test_iso_text_becomes_microseconds_since_the_epoch():
    assert convert.to_microseconds("2024-01-01T00:00:00.000001Z") == MICROS_2024 + 1
    assert convert.to_microseconds("1969-12-31T23:59:59Z") == -1_000_000
    with pytest.raises(ValueError, match="Invalid isoformat"):
        convert.to_microseconds("not a time")
