"""Rows made to conform to their stream's SCHEMA, which grows with the fields Zoho sends.

Real Books/Inventory list rows (``shared/zoho-api.md`` 6.5, 6.6, pitfall 12) differ from the
documented types:

* any numeric field may arrive as ``""`` (no value: emitted as null), ``tax_percentage`` as a
  numeric string such as ``"12.5"`` or ``"70%"`` (emitted as the number);
* datetimes carry colon-less offsets (``-0400``), which ``format: date-time`` (RFC 3339) rejects:
  they are emitted as ``-04:00``, the same instant;
* custom fields come only as flat ``cf_<api_name>`` keys with a ``cf_<api_name>_unformatted``
  twin, different in every organisation, and Zoho publishes no list-level metadata for them.

So a :class:`RowShaper` discovers fields from the rows themselves, typed by custom-field
metadata when Zoho sends some (``data_type`` of ``custom_fields`` entries in a row or in
``page_context``, unconfirmed) and else by their values. The ``_unformatted`` twin is
the value source (the raw number, ISO date or boolean, not the display text) and is never a
column of its own: ``cf_x`` holds the typed unformatted value. A key the SCHEMA does not declare
(a discovered field; ``""`` there means no value and is emitted as null) is declared from its
first non-empty value (boolean, number, RFC 3339 date-time, date, string,
array or object); a later value that does not fit widens the field to a string. The caller emits
an updated SCHEMA whenever :meth:`RowShaper.shape` reports a change, before the record.
Properties the tap declares itself keep their type; a value that cannot be one is emitted as
null with one warning naming the stream, field and value.
"""

from __future__ import annotations

import copy
import json
import math
import re
import typing as t
from datetime import date

from .errors import ValueMismatchError

if t.TYPE_CHECKING:
    import logging

UNFORMATTED = "_unformatted"
DATETIME_TEXT = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE
)
DATE_TEXT = re.compile(r"^\d{4}-\d\d-\d\d$")
TRUE_FALSE = {"true": True, "false": False}


def rfc3339(value: str) -> str:
    """``2025-05-15T13:44:25-0400`` -> ``2025-05-15T13:44:25-04:00`` (the same instant)."""
    match = DATETIME_TEXT.match(value.strip())
    if not match:
        raise ValueMismatchError(value)
    stamp, offset = match.groups()
    if offset.upper() == "Z":
        return f"{stamp}Z"
    if ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return f"{stamp}{offset}"


def _types(prop: dict[str, t.Any]) -> set[str]:
    raw = prop.get("type", [])
    return ({raw} if isinstance(raw, str) else set(raw)) - {"null"}


def _number(value: t.Any, *, integer: bool) -> t.Any:
    if isinstance(value, bool):
        raise ValueMismatchError(value)
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        raise ValueMismatchError(value)
    text = value.strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise ValueMismatchError(value) from None
    if not math.isfinite(number):
        raise ValueMismatchError(value)
    if integer:
        if not number.is_integer():
            raise ValueMismatchError(value)
        return int(number)
    return int(number) if re.fullmatch(r"[+-]?\d+", text) else number


def _is_date(text: str) -> bool:
    if not DATE_TEXT.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _date_time(value: t.Any) -> t.Any:
    if value == "":
        return None
    if not isinstance(value, str):
        raise ValueMismatchError(value)
    return rfc3339(value)


def _date(value: t.Any) -> t.Any:
    if value == "":
        return None
    if not (isinstance(value, str) and _is_date(value)):
        raise ValueMismatchError(value)
    return value


def _string(value: t.Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)  # ids documented as bare numbers are strings (section 0)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _boolean(value: t.Any) -> t.Any:
    if isinstance(value, bool):
        return value
    if value == "":
        return None
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in TRUE_FALSE:
        raise ValueMismatchError(value)
    return TRUE_FALSE[text]


def _of_type(kind: type) -> t.Callable[[t.Any], t.Any]:
    def check(value: t.Any) -> t.Any:
        if not isinstance(value, kind):
            raise ValueMismatchError(value)
        return value

    return check


def _conform_object(value: dict[str, t.Any], properties: dict[str, t.Any]) -> dict[str, t.Any]:
    """An object's declared keys as their types (``pricebook_rate: ""`` -> null)."""
    out = dict(value)
    for key, prop in properties.items():
        if key in out:
            try:
                out[key] = coerce(out[key], prop)
            except ValueMismatchError:
                out[key] = None
    return out


def _array(value: t.Any, prop: dict[str, t.Any]) -> list[t.Any]:
    if not isinstance(value, list):
        raise ValueMismatchError(value)
    inner = (prop.get("items") or {}).get("properties")
    if not inner:
        return value
    return [_conform_object(v, inner) if isinstance(v, dict) else v for v in value]


_STRINGS: dict[t.Any, t.Callable[[t.Any], t.Any]] = {"date-time": _date_time, "date": _date}
_KINDS: dict[str, t.Callable[[t.Any], t.Any]] = {
    "boolean": _boolean,
    "object": _of_type(dict),
}


def coerce(value: t.Any, prop: dict[str, t.Any]) -> t.Any:
    """``value`` as the property's type; raises :class:`ValueMismatchError` when it cannot be."""
    if value is None:
        return None
    types = _types(prop)
    if types & {"number", "integer"}:
        return _number(value, integer="number" not in types)
    if "string" in types:
        convert: t.Callable[[t.Any], t.Any] = _STRINGS.get(prop.get("format"), _string)
        return convert(value)
    if "array" in types:
        return _array(value, prop)
    kind = next((k for k in _KINDS if k in types), None)
    if kind == "object" and prop.get("properties"):  # its declared keys as their types too
        return _conform_object(_KINDS[kind](value), prop["properties"])
    return _KINDS[kind](value) if kind else value


_JSON_KINDS = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


def infer(value: t.Any) -> dict[str, t.Any]:
    """The property a new field is declared with, from its first non-empty value."""
    kind = _JSON_KINDS.get(type(value))
    if kind:
        return {"type": [kind, "null"]}
    text = str(value).strip()
    fmt = "date-time" if DATETIME_TEXT.match(text) else "date" if _is_date(text) else None
    return {"type": ["string", "null"], **({"format": fmt} if fmt else {})}


def flatten_custom_field_array(row: dict[str, t.Any]) -> None:
    """Rows carrying a ``custom_fields`` array (the documented shape) also get flat ``cf_`` keys."""
    for entry in row.get("custom_fields") or []:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("api_name") or "")
        if name.startswith("cf_") and name not in row:
            row[name] = entry.get("value")


# Custom-field types as Zoho's custom-field metadata names them (the ``data_type`` of a
# ``custom_fields`` entry, in rows or in ``page_context``; unconfirmed, 6.2 and 6.5). Other known
# types (string, multiline, email, url, phone, dropdown, autonumber, lookup...) are text.
_NUMBER = {"type": ["number", "null"]}
_HINTS: dict[str, dict[str, t.Any]] = {
    "number": _NUMBER,
    "decimal": _NUMBER,
    "amount": _NUMBER,
    "percent": _NUMBER,
    "check_box": {"type": ["boolean", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "date_time": {"type": ["string", "null"], "format": "date-time"},
    "datetime": {"type": ["string", "null"], "format": "date-time"},
}


def custom_field_hints(entries: t.Any) -> dict[str, dict[str, t.Any]]:
    """``cf_<name>`` -> property, from custom-field metadata entries that name a ``data_type``."""
    hints = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("data_type"):
            continue
        name = str(entry.get("api_name") or "")
        if name.startswith("cf_"):
            kind = str(entry["data_type"]).lower()
            hints[name] = copy.deepcopy(_HINTS.get(kind, {"type": ["string", "null"]}))
    return hints


class RowShaper:
    """Shapes one stream's rows in place and extends its schema (see the module docstring)."""

    def __init__(self, schema: dict[str, t.Any], stream: str, logger: logging.Logger) -> None:
        """``schema`` is the stream's own schema dict: new properties are added to it."""
        self.properties: dict[str, t.Any] = schema.setdefault("properties", {})
        self.declared = frozenset(self.properties)  # the tap's own types never change
        self.stream = stream
        self.logger = logger
        self.hints: dict[str, dict[str, t.Any]] = {}  # types from custom-field metadata
        self._warned: set[str] = set()

    def learn(self, entries: t.Any) -> None:
        """Take custom-field metadata (``page_context.custom_fields``) as type hints."""
        self.hints.update(custom_field_hints(entries))

    def shape(self, row: dict[str, t.Any]) -> bool:
        """Make ``row`` conform; True when the schema gained or widened a property."""
        flatten_custom_field_array(row)
        if row.get("custom_fields"):
            self.learn(row["custom_fields"])
        for twin in [k for k in row if k.endswith(UNFORMATTED)]:
            base = twin[: -len(UNFORMATTED)]
            if base in row:
                row[base] = row.pop(twin)
        changed = False
        for key, value in list(row.items()):
            prop = self.properties.get(key)
            if prop is None and key in self.hints:  # metadata knows its type: declare it now
                prop = self.properties[key] = copy.deepcopy(self.hints[key])
                changed = True
            if key not in self.declared and value in (None, ""):
                # A discovered field without a value is null, whatever its type; before it is
                # declared there is nothing to declare, and an absent key equals null.
                if prop is None:
                    del row[key]
                else:
                    row[key] = None
                continue
            if prop is None:
                prop = self.properties[key] = infer(value)
                changed = True
            try:
                row[key] = coerce(value, prop)
            except ValueMismatchError:
                row[key] = self._mismatch(key, value)
                changed = changed or key not in self.declared
        return changed

    def _mismatch(self, key: str, value: t.Any) -> t.Any:
        if key in self.declared:
            if key not in self._warned:
                self._warned.add(key)
                self.logger.warning(
                    "%s: field %s holds %r, which is not a %s; emitted as null",
                    self.stream,
                    key,
                    value,
                    "/".join(sorted(_types(self.properties[key]))),
                )
            return None
        self.properties[key] = {"type": ["string", "null"]}  # a discovered field widens
        return _string(value)
