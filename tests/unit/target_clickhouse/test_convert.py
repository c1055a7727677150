"""The pure converters of the dict path: every column type with good and bad values.

``convert_column`` tries the whole-column fast conversions first; a column holding anything
unexpected goes value by value (the slow path), so the first misfit is named. Both are checked
here, without an engine.
"""

from __future__ import annotations

import calendar
import re
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


# ClickHouse's DateTime64 stores up to 2299-12-31 23:59:59.999999; in microseconds that is past
# 2**53, where a float can no longer hold every microsecond.
LAST_MICRO = calendar.timegm((2299, 12, 31, 23, 59, 59)) * 1_000_000 + 999_999


def test_date_times_become_exact_integer_microseconds_up_to_the_last_storable_one():
    text = "2299-12-31T23:59:59.999999+00:00"
    assert LAST_MICRO > 2**53

    by_text = convert.to_microseconds(text)
    by_datetime = converter(DT)(datetime.fromisoformat(text))
    (by_column,) = convert_column("t", DT, [text])

    for micros in (by_text, by_datetime, by_column):
        assert type(micros) is int
        assert micros == LAST_MICRO


def test_a_date_time_column_without_nulls_keeps_every_value():
    texts = ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01+00:00"]

    assert convert_column("t", f"Nullable({DT})", texts) == [MICROS_2024, MICROS_2024 + 1_000_000]


def test_a_naive_datetime_object_is_utc_like_a_naive_text():
    assert converter(DT)(datetime(2024, 1, 1)) == MICROS_2024  # noqa: DTZ001 - the point
    assert convert_column("t", DT, [datetime(2024, 1, 1)]) == [MICROS_2024]  # noqa: DTZ001


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (12, "12"),
        (True, "true"),
        (Decimal("1.50"), "1.50"),
        ({"a": [1, Decimal("2.5")]}, '{"a":[1,2.5]}'),
        ([1, "x"], '[1,"x"]'),
        (datetime(2024, 1, 1, tzinfo=UTC), "2024-01-01T00:00:00+00:00"),
        (date(2024, 3, 1), "2024-03-01"),
        (1e20, "1e+20"),
    ],
)
def test_a_string_column_stores_other_values_as_their_text_and_keeps_strings_and_nulls(value, text):
    """The whole-column conversion gives what the value-by-value converter gives: no quotes."""
    assert converter("String")(value) == text
    assert convert_column("s", "Nullable(String)", [None, "a", value]) == [None, "a", text]
    assert convert_column("s", "String", [value, "b"]) == [text, "b"]


def test_int64_takes_its_whole_range_and_an_all_null_column():
    assert convert_column("i", "Int64", [-(2**63), 2**63 - 1]) == [-(2**63), 2**63 - 1]
    assert converter("Int64")(-(2**63)) == -(2**63)
    assert convert_column("i", "Nullable(Int64)", [None, None]) == [None, None]
    assert convert_column("i", "Nullable(Int64)", []) == []


@pytest.mark.parametrize(
    "values",
    [
        [Decimal("1.25"), Decimal("462.519")],
        [Decimal("1.25"), 0.125],
        [3, Decimal("0.001")],
    ],
)
def test_a_decimal_column_without_nulls_refuses_digits_beyond_the_scale(values):
    """The driver would cut the extra digits silently: the column is refused, naming the value."""
    with pytest.raises(BadValueError, match=re.escape(f"cannot store value {values[1]!r}") + "$"):
        convert_column("d", "Decimal(18, 2)", values)


def test_a_decimal_column_within_scale_and_precision_keeps_its_values():
    values = [Decimal("1.5"), 2, 0.25, Decimal("-99.99")]

    assert convert_column("d", "Decimal(4, 2)", values) == [
        Decimal("1.50"),
        Decimal("2.00"),
        Decimal("0.25"),
        Decimal("-99.99"),
    ]


def test_a_value_shown_in_full_up_to_120_characters_and_cut_to_120_beyond():
    fits = "x" * 118  # its repr, quotes included, is 120 characters
    too_long = "x" * 119

    assert (
        str(BadValueError("c", "Int64", fits)) == f"column 'c' (Int64): cannot store value '{fits}'"
    )
    cut = str(BadValueError("c", "Int64", too_long)).removeprefix(
        "column 'c' (Int64): cannot store value "
    )
    assert cut == "'" + "x" * 116 + "..."
    assert len(cut) == 120


def test_a_null_in_a_key_column_names_the_column_and_its_type():
    with pytest.raises(BadValueError) as refused:
        convert_column("k", "String", ["a", None])

    assert str(refused.value) == "column 'k' (String): cannot store value None"
    assert refused.value.column == "k"


def test_a_float_column_of_integers_without_nulls_becomes_floats():
    converted = convert_column("f", "Nullable(Float64)", [3, 1.5, Decimal("2.25")])

    assert converted == [3.0, 1.5, 2.25]
    assert [type(value) for value in converted] == [float, float, float]


def test_a_decimal_column_with_a_two_digit_scale_refuses_too_many_integer_digits():
    """Decimal(18, 12) keeps 6 integer digits: 10**7 would overflow the driver's 64 bits."""
    assert convert_column("d", "Decimal(18, 12)", [Decimal("999999.5")]) == [Decimal("999999.5")]
    with pytest.raises(BadValueError, match=re.escape("cannot store value Decimal('1E+7')")):
        convert_column("d", "Decimal(18, 12)", [Decimal("1E+7")])
