"""Pure conversion of Singer values into ClickHouse column values, one column at a time.

Values are converted per column at flush time: a column whose values already have the right
Python type (checked in C by ``set(map(type, ...))``) is passed through untouched, so the common
case costs no Python call per value. Anything that cannot be converted raises
:class:`BadValueError` naming the column and the value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from operator import is_not
from typing import Any

import msgspec

from .ddl import strip_nullable

NoneType = type(None)
_EPOCH_AWARE = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_NAIVE = datetime(1970, 1, 1)  # noqa: DTZ001 - naive values are UTC (Singer spec)
_MICRO = timedelta(microseconds=1)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DAY_LENGTH = 10


class BadValueError(ValueError):
    """A value that does not fit its column."""

    def __init__(self, column: str, ch_type: str, value: Any) -> None:
        """Keep what is needed for a one-line message."""
        shown = repr(value)
        if len(shown) > 120:  # noqa: PLR2004
            shown = shown[:117] + "..."
        super().__init__(f"column {column!r} ({ch_type}): cannot store value {shown}")
        self.column = column


_JSON = msgspec.json.Encoder(decimal_format="number", enc_hook=str)


def _json_text(value: Any) -> str:
    return _JSON.encode(value).decode()


def _to_string(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return _json_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _to_int(value: Any) -> Any:
    if value is None:
        return value
    integral = (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
        or (isinstance(value, Decimal) and value == value.to_integral_value())
        or (isinstance(value, str) and value.strip().lstrip("+-").isdigit())
    )
    if not integral:
        raise TypeError
    number = int(value)
    if not INT64_MIN <= number <= INT64_MAX:
        raise OverflowError
    return number


def _to_float(value: Any) -> Any:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, (int, Decimal)):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError


def _decimal_converter(scale: int, integer_digits: int) -> Any:
    quantum = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** integer_digits

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise TypeError
        # str() of a float is its shortest round-trip form: 20041.92 stays 20041.92.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        if not number.is_finite() or abs(number) >= limit:
            raise TypeError
        exact = number.quantize(quantum)
        if exact != number:  # more digits than the scale: refuse rather than round
            raise TypeError
        return exact

    return convert


def _to_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise TypeError


def to_microseconds(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 date-time; naive values are UTC."""
    parsed = datetime.fromisoformat(text)
    return (parsed - (_EPOCH_AWARE if parsed.tzinfo else _EPOCH_NAIVE)) // _MICRO


def _to_datetime(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):  # a stream map may build datetimes
        return (value - (_EPOCH_AWARE if value.tzinfo else _EPOCH_NAIVE)) // _MICRO
    if isinstance(value, str):
        return to_microseconds(value)
    raise TypeError


def _to_date(value: Any) -> Any:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str) and _ISO_DAY.match(value):
        if len(value) > _ISO_DAY_LENGTH:  # a date-time is fine, trailing text is not
            datetime.fromisoformat(value)
        return date.fromisoformat(value[:_ISO_DAY_LENGTH])
    raise TypeError


def _to_json_object(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {"value": value}


_PASS_THROUGH: dict[str, frozenset[type]] = {
    "String": frozenset({str, NoneType}),
    "Int64": frozenset({int, NoneType}),
    "Float64": frozenset({float, NoneType}),
    "Bool": frozenset({bool, NoneType}),
}


_CONVERTERS: dict[str, Any] = {
    "String": _to_string,
    "Int64": _to_int,
    "Float64": _to_float,
    "Bool": _to_bool,
    "Date32": _to_date,
}


def converter(ch_type: str) -> Any:
    """The per-value conversion function for a column type."""
    base = strip_nullable(ch_type)
    if base in _CONVERTERS:
        return _CONVERTERS[base]
    if base.startswith("DateTime64"):
        return _to_datetime
    if base.startswith("Decimal("):
        precision, scale = (int(x) for x in base[8:-1].split(","))
        return _decimal_converter(scale, precision - scale)
    if base.startswith("JSON"):
        return _to_json_object
    return _to_string


_fromisoformat = datetime.fromisoformat
_encode_json = _JSON.encode
_not_none = partial(is_not, None)
#: Types whose JSON text is what ``_to_string`` gives them (anything else goes value by value).
_JSON_IS_TEXT = frozenset({str, NoneType, bool, int, Decimal, dict, list})


def _fast_column(base: str, values: list[Any]) -> list[Any]:
    """Whole-column conversions for the common cases; raise on anything unexpected."""
    if base == "String":
        if not set(map(type, values)) <= _JSON_IS_TEXT:
            raise TypeError  # JSON would quote a datetime and spell a float its own way
        return [v if v is None or type(v) is str else _encode_json(v).decode() for v in values]
    if base == "Float64":
        if bool in set(map(type, values)):
            raise TypeError  # a bool is no number: the value-by-value path names it
        return [None if v is None else float(v) for v in values]
    if base == "Int64":
        return [_to_int(v) for v in values]
    if base.startswith("DateTime64"):
        # ClickHouse takes DateTime64(6) as integer microseconds: no datetime objects to build.
        return [
            None
            if v is None
            else ((d := _fromisoformat(v)) - (_EPOCH_AWARE if d.tzinfo else _EPOCH_NAIVE)) // _MICRO
            for v in values
        ]
    if base.startswith("Decimal("):
        precision, scale = (int(x) for x in base[8:-1].split(","))
        if set(map(type, values)) <= {Decimal, int, float, NoneType}:
            biggest = max(map(abs, filter(_not_none, values)), default=0)
            if biggest < Decimal(10) ** (precision - scale) and _within_scale(values, scale):
                return values  # clickhouse-connect scales Decimal/int/float itself
        raise TypeError
    raise TypeError


def _within_scale(values: list[Any], scale: int) -> bool:
    """No value has more fraction digits than the scale (the driver would round them)."""
    for value in values:
        if value is None or type(value) is int:
            continue
        number = value if type(value) is Decimal else Decimal(str(value))
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -scale:
            return False  # the value-by-value path decides (1.100 fits scale 2; 1.105 does not)
    return True


def convert_column(name: str, ch_type: str, values: list[Any]) -> list[Any]:
    """Convert one column's values; raise :class:`BadValueError` on the first misfit."""
    base = strip_nullable(ch_type)
    required = not ch_type.startswith("Nullable(") and not base.startswith("JSON")
    allowed = _PASS_THROUGH.get(base)
    if allowed is not None and set(map(type, values)) <= allowed and _in_range(base, values):
        converted = values
    else:
        try:
            converted = _fast_column(base, values)
        except (TypeError, ValueError, InvalidOperation, OverflowError, AttributeError):
            converted = _slow_column(name, ch_type, values)
    if required and None in converted:
        raise BadValueError(name, ch_type, None)
    return converted


def _in_range(base: str, values: list[Any]) -> bool:
    """Int64 values must fit 64 bits (the driver would fail with a traceback otherwise)."""
    if base != "Int64":
        return True
    return max(map(abs, filter(_not_none, values)), default=0) <= INT64_MAX


def _slow_column(name: str, ch_type: str, values: list[Any]) -> list[Any]:
    """Value by value, so the first value that does not fit is named."""
    convert = converter(ch_type)
    converted = []
    for value in values:
        try:
            converted.append(convert(value))
        except (TypeError, ValueError, InvalidOperation, OverflowError):
            raise BadValueError(name, ch_type, value) from None
    return converted
