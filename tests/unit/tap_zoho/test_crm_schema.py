"""Field metadata becomes typed JSON Schema for every CRM data type."""

from __future__ import annotations

import pytest
from tap_zoho.crm.schema import module_schema, property_schema

from tests.zoho_sandbox.seed import TYPE_SPECS
from tests.zoho_sandbox.store import FieldMeta


def _field(key: str) -> dict:
    spec = TYPE_SPECS[key]
    return FieldMeta(
        key, spec.data_type, spec.json_type, spec.length, spec.decimal_place, extra=dict(spec.extra)
    ).to_json(0, "1234567890123")


@pytest.mark.parametrize(
    ("key", "json_type", "fmt"),
    [
        ("text", "string", None),
        ("textarea", "string", None),
        ("email", "string", None),
        ("picklist", "string", None),
        ("autonumber", "string", None),
        ("integer", "integer", None),
        ("bigint", "string", None),
        ("boolean", "boolean", None),
        ("date", "string", "date"),
        ("datetime", "string", "date-time"),
        ("event_reminder", "string", "date-time"),
        ("formula_datetime", "string", "date-time"),
        ("formula_text", "string", None),
        ("double", "number", None),
        ("lookup", "object", None),
        ("ownerlookup", "object", None),
        ("ALARM", "object", None),
        ("multiselectpicklist", "array", None),
        ("subform", "array", None),
        ("multiselectlookup", "array", None),
        ("fileupload", "array", None),
        ("tag", "array", None),
    ],
)
def test_each_data_type_maps_to_its_json_type(key, json_type, fmt):
    schema = property_schema(_field(key))

    assert schema["type"] == [json_type, "null"]
    assert schema.get("format") == fmt


@pytest.mark.parametrize(
    ("key", "scale"),
    [("currency", 2), ("decimal", 4), ("percent", 2), ("formula", 2), ("rollup_summary", 2)],
)
def test_money_and_decimals_carry_precision_and_scale(key, scale):
    schema = property_schema(_field(key))

    assert schema["type"] == ["number", "null"]
    assert schema["x-sql-datatype"] == "decimal"
    assert schema["x-sql-datatype-properties"]["scale"] == scale
    assert schema["x-sql-datatype-properties"]["precision"] > scale
    assert "multipleOf" not in schema  # float validators reject 20041.92 as a multiple of 0.01


def test_nested_values_keep_keys_the_metadata_does_not_list():
    schema = property_schema(_field("lookup"))

    assert schema["additionalProperties"] is True
    assert set(schema["properties"]) == {"id", "name"}


def test_unknown_data_types_fall_back_on_the_wire_type():
    assert property_schema({"data_type": "brand_new", "json_type": "double"})["type"] == [
        "number",
        "null",
    ]
    assert (
        property_schema({"data_type": "brand_new", "json_type": "jsonobject"})["type"][0]
        == "object"
    )
    assert property_schema({"data_type": "brand_new"})["type"] == ["string", "null"]


def test_module_schema_has_a_required_id_and_the_deletion_marker():
    schema = module_schema([_field("text"), {"api_name": "id", "data_type": "bigint"}])

    assert schema["properties"]["id"] == {"type": ["string"]}
    assert schema["required"] == ["id"]
    assert schema["properties"]["_sdc_deleted_at"]["format"] == "date-time"
