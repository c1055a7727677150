"""Zoho CRM field metadata -> JSON Schema, with real types (``shared/zoho-api.md`` 2.3).

Decimal fields carry precision and scale as ``x-sql-datatype: decimal`` with
``x-sql-datatype-properties`` (keys the Singer SDK keeps through catalogs), so money never becomes a
bare float column. ``multipleOf`` is avoided on purpose: validators compute it in binary floating
point and reject values such as 20041.92.
Nested values keep unknown keys (``additionalProperties``) because several shapes are unconfirmed.
"""

from __future__ import annotations

import copy
from typing import Any

DECIMAL_TYPES = {"currency", "double", "decimal", "percent"}
STRING_TYPES = {
    "text",
    "textarea",
    "mediumtext",
    "email",
    "phone",
    "website",
    "picklist",
    "autonumber",
    "profileimage",
    "time_range",
    "layout",
    "module",
}
DATETIME_TYPES = {"datetime", "event_reminder"}
OBJECT_TYPES = {
    "lookup",
    "ownerlookup",
    "userlookup",
    "multi_module_lookup",
    "consent_lookup",
    "ALARM",
    "RRULE",
}
OBJECT_ARRAY_TYPES = {
    "multiuserlookup",
    "multiselectlookup",
    "subform",
    "fileupload",
    "imageupload",
    "multireminder",
    "linetax",
}
RETURN_TYPE_ALIASES = {
    "double": "double",
    "currency": "currency",
    "decimal": "decimal",
    "percent": "percent",
    "integer": "integer",
    "long": "bigint",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}

DELETED_AT = "_sdc_deleted_at"


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _lookup_schema() -> dict[str, Any]:
    return _nullable(
        "object",
        properties={"id": _nullable("string"), "name": _nullable("string")},
        additionalProperties=True,
    )


def _decimal_schema(length: Any, decimal_place: Any) -> dict[str, Any]:
    schema = _nullable("number")
    if isinstance(decimal_place, int) and decimal_place >= 0:
        # Zoho's ``length`` counts integer digits; precision is both parts together.
        digits = length if isinstance(length, int) and length > 0 else 16
        schema["x-sql-datatype"] = "decimal"
        schema["x-sql-datatype-properties"] = {
            "precision": min(digits + decimal_place, 76),
            "scale": decimal_place,
        }
    return schema


# Types that map to one fixed schema (bigint leaves as a string: past 2**53 JSON numbers lose
# digits in many readers, and Zoho and Airbyte use strings).
_SCALARS: dict[str, dict[str, Any]] = {
    **{name: _nullable("string") for name in STRING_TYPES},
    **{name: _nullable("string", format="date-time") for name in DATETIME_TYPES},
    "date": _nullable("string", format="date"),
    "integer": _nullable("integer"),
    "bigint": _nullable("string"),
    "long": _nullable("string"),
    "boolean": _nullable("boolean"),
}
_BY_JSON_TYPE = {"integer": "integer", "double": "number", "boolean": "boolean"}


def property_schema(field: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of one field from its ``/settings/fields`` entry."""
    data_type = str(field.get("data_type") or "")
    json_type = str(field.get("json_type") or "")
    if data_type in {"formula", "rollup_summary"}:
        return_type = (field.get(data_type) or {}).get("return_type")
        data_type = RETURN_TYPE_ALIASES.get(str(return_type), "text")
    # The wire type wins over the data type where they disagree (``Tag`` is "text" but an array).
    if json_type == "jsonarray" or data_type in OBJECT_ARRAY_TYPES:
        items = "string" if data_type == "multiselectpicklist" else "object"
        item_schema: dict[str, Any] = {"type": [items, "null"]}
        if items == "object":
            item_schema["additionalProperties"] = True
        return _nullable("array", items=item_schema)
    if json_type == "jsonobject" or data_type in OBJECT_TYPES:
        return _lookup_schema()
    if data_type in DECIMAL_TYPES:
        return _decimal_schema(field.get("length"), field.get("decimal_place"))
    if data_type in _SCALARS:
        return copy.deepcopy(_SCALARS[data_type])
    return _nullable(_BY_JSON_TYPE.get(json_type, "string"))


def module_schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The stream schema: ``id`` (required), every field, and ``_sdc_deleted_at``."""
    properties: dict[str, Any] = {"id": {"type": ["string"]}}
    for field in fields:
        name = field.get("api_name")
        if not name or name == "id":
            continue
        properties[name] = property_schema(field)
    properties[DELETED_AT] = _nullable("string", format="date-time")
    return {"type": "object", "properties": properties, "required": ["id"]}


def bigint_fields(fields: list[dict[str, Any]]) -> list[str]:
    """``bigint`` fields: string or number on the wire (unconfirmed); emitted as strings."""
    return [str(f["api_name"]) for f in fields if f.get("data_type") in {"bigint", "long"}]
