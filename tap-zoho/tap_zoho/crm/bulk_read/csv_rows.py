"""Bulk Read CSV cells -> the typed values Get Records delivers (``shared/zoho-api.md`` 2.3, 4.4).

One converter per field, chosen from field metadata the way :mod:`..schema` chooses the SCHEMA, so
a record has the same shape and types whichever path read it. What the CSV cannot carry differs
and is documented in the README: lookups are ``{"id": ...}`` (no ``name``), Tags are
``[{"name": ...}]`` (no tag id), multi-module lookups lose their ``module``.
"""

from __future__ import annotations

import re
import typing as t
from decimal import Decimal, InvalidOperation

from tap_zoho.api.decoding import Repair, RepairNote, log_repairs, repair_text
from tap_zoho.crm.schema import DATETIME_TYPES, DECIMAL_TYPES, OBJECT_TYPES, RETURN_TYPE_ALIASES
from tap_zoho.errors import BadCellError

Converter = t.Callable[[str], t.Any]

# Types Bulk Read refuses to export (4.4; fileupload left out as estuary does: its form is unknown).
NOT_EXPORTABLE = frozenset(
    {
        "subform",
        "multiselectlookup",
        "multiuserlookup",
        "imageupload",
        "linetax",
        "multireminder",
        "fileupload",
    }
)
ID_COLUMNS = frozenset({"id", "Id", "ID"})
WRAPPED = frozenset({"ALARM", "RRULE"})


def effective_type(field: dict[str, t.Any]) -> str:
    """The data type a value has: formulas and rollups take their return type."""
    data_type = str(field.get("data_type") or "")
    if data_type in {"formula", "rollup_summary"}:
        return_type = (field.get(data_type) or {}).get("return_type")
        return RETURN_TYPE_ALIASES.get(str(return_type), "text")
    return data_type


def exportable(field: dict[str, t.Any]) -> bool:
    """False for the types Bulk Read cannot export."""
    return str(field.get("data_type") or "") not in NOT_EXPORTABLE


def _text(cell: str) -> str:
    return cell


def _integer(cell: str) -> int:
    try:
        return int(cell)
    except ValueError:
        number = Decimal(cell)  # hotglue met ``0.0`` in integer fields
        if number != number.to_integral_value():
            raise
        return int(number)


def _bigint(cell: str) -> str:
    return str(_integer(cell))


def _decimal(cell: str) -> float:
    return float(cell)


def _boolean(cell: str) -> bool:
    lowered = cell.strip().lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    msg = f"not a boolean: {cell!r}"
    raise ValueError(msg)


def _datetime(cell: str) -> str:
    text = cell.strip()
    if len(text) > 10 and text[10] == " ":  # noqa: PLR2004 - "yyyy-MM-dd HH:mm:ss"
        text = f"{text[:10]}T{text[11:]}"
    return text.replace("Z", "+00:00") if text.endswith("Z") else text


def _split(cell: str) -> list[str]:
    return [part for part in cell.split(",") if part != ""]


def _picklist_splitter(known: frozenset[str]) -> Converter:
    """Split a multi-select cell into the field's own values.

    The separator is ``,`` in public readers of Bulk Read and ``;`` in Bulk Write (unconfirmed for
    read), and values may hold either character: fragments are joined back until they form a value
    the field's ``pick_list_values`` know. Unknown values (the list changed) split on ``,``.
    """

    def split(cell: str) -> list[str]:
        if cell in known:
            return [cell]
        pieces = re.split(r"([,;])", cell)
        values: list[str] = []
        current = pieces[0]
        for separator, piece in zip(pieces[1::2], pieces[2::2], strict=True):
            if current in known or (separator == "," and not _joins_known(current, known)):
                values.append(current)
                current = piece
            else:
                current = f"{current}{separator}{piece}"
        values.append(current)
        return [value for value in values if value != ""]

    return split


def _joins_known(prefix: str, known: frozenset[str]) -> bool:
    """True when some known value starts with ``prefix`` followed by a separator."""
    return any(value.startswith((f"{prefix},", f"{prefix};")) for value in known)


def _lookup(cell: str) -> dict[str, str]:
    return {"id": cell}


def _tags(cell: str) -> list[dict[str, str]]:
    return [{"name": name} for name in _split(cell)]


def _wrapped(kind: str) -> Converter:
    return lambda cell: {kind: cell}


_BY_KIND: dict[str, Converter] = {
    "integer": _integer,
    "bigint": _bigint,
    "long": _bigint,
    "boolean": _boolean,
    **dict.fromkeys(DECIMAL_TYPES, _decimal),
    **dict.fromkeys(DATETIME_TYPES, _datetime),
}
_BY_JSON_TYPE: dict[str, Converter] = {"integer": _integer, "double": _decimal}


def converter_for(field: dict[str, t.Any]) -> Converter:
    """How one field's cells become the value Get Records would have delivered."""
    kind = effective_type(field)
    json_type = str(field.get("json_type") or "")
    if kind in WRAPPED:
        return _wrapped(kind)
    if kind == "multiselectpicklist":
        known = frozenset(
            str(v.get("actual_value"))
            for v in field.get("pick_list_values") or []
            if isinstance(v, dict) and v.get("actual_value") is not None
        )
        return _picklist_splitter(known) if known else _split
    if json_type == "jsonarray":  # Tag: "text" by data type, an array of tag objects
        return _tags
    if json_type == "jsonobject" or kind in OBJECT_TYPES:
        return _lookup
    return _BY_KIND.get(kind) or _BY_JSON_TYPE.get(json_type, _text)


class RowConverter:
    """Turns CSV rows with a given header into records keyed by field API name.

    A lookup may come as its own column (``Parent_Id``, the id) or as ``Parent_Id.id`` /
    ``Parent_Id.name`` columns (the column form of subform and linking exports is unconfirmed,
    3.3): either way the record holds ``{"id": ...}`` (and ``name`` when a column gives it).
    """

    def __init__(
        self,
        header: list[str],
        fields: dict[str, dict[str, t.Any]],
        stream: str,
        repaired: RepairNote | None = None,
    ) -> None:
        """Map every column to its field; columns field metadata does not know are ignored.

        ``repaired`` hears of cells that held half a character (:meth:`whole_characters`).
        """
        self.stream = stream
        self.header = header
        self.repaired = repaired or log_repairs
        self.columns: list[tuple[int, str, Converter]] = []
        self.parts: list[tuple[int, str, str]] = []  # (index, lookup field, key) of X.key columns
        id_index: int | None = None
        for index, column in enumerate(header):
            name = column.lstrip("\ufeff")
            base, dot, key = name.partition(".")
            if name in ID_COLUMNS:
                id_index = index
            elif name in fields:
                self.columns.append((index, name, converter_for(fields[name])))
            elif dot and base in fields and converter_for(fields[base]) is _lookup:
                self.parts.append((index, base, key))
        if id_index is None:
            msg = f"{stream}: the Bulk Read CSV has no id column (header: {header[:5]}...)"
            raise BadCellError(msg)
        self.id_index = id_index

    def record(self, row: list[str]) -> dict[str, t.Any]:
        """One record; an empty cell is null."""
        try:
            "".join(row).encode()  # fails on a lone surrogate: the cheap test of every row
        except UnicodeEncodeError:
            row = self.whole_characters(row)
        record: dict[str, t.Any] = {"id": row[self.id_index]}
        for index, name, convert in self.columns:
            cell = row[index] if index < len(row) else ""
            if cell == "":
                record[name] = None
                continue
            try:
                record[name] = convert(cell)
            except (ValueError, InvalidOperation):
                msg = f"{self.stream}: column {name} of record {record['id']}: bad value {cell!r}"
                raise BadCellError(msg) from None
        for index, name, key in self.parts:
            cell = row[index] if index < len(row) else ""
            record.setdefault(name, None)
            if cell != "":
                record[name] = {**(record[name] or {}), key: cell}
        return record

    def whole_characters(self, row: list[str]) -> list[str]:
        """``row`` with each byte that was not UTF-8 as U+FFFD, told to ``repaired``.

        The CSV is read with ``surrogateescape``, so a value an export cut inside a character
        (rich text cut at 500, 3.2) arrives with lone surrogates where its broken bytes were,
        instead of failing the whole module.
        """
        rid = repair_text(row[self.id_index]) if self.id_index < len(row) else ""
        out, repairs = [], []
        for index, cell in enumerate(row):
            fixed = repair_text(cell)
            if fixed != cell:
                column = self.header[index] if index < len(self.header) else str(index)
                repairs.append(Repair(rid, column))
            out.append(fixed)
        self.repaired(repairs, f"Bulk Read CSV of {self.stream}")
        return out


def bulk_shape(record: dict[str, t.Any], fields: dict[str, dict[str, t.Any]]) -> dict[str, t.Any]:
    """A Get Records record reduced to what a Bulk Read CSV can say (to compare the two)."""
    out: dict[str, t.Any] = {}
    for name, field in fields.items():
        if name not in record or not exportable(field):
            continue
        value = record[name]
        kind = effective_type(field)
        if value in (None, [], ""):
            out[name] = None
        elif kind in WRAPPED or kind == "multiselectpicklist":
            out[name] = value
        elif isinstance(value, dict):
            out[name] = {"id": value.get("id")}
        elif isinstance(value, list):
            out[name] = [{"name": v.get("name")} if isinstance(v, dict) else v for v in value]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
        else:
            out[name] = value
    return out
