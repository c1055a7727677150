"""Unit tests of ``tap_zoho.crm.schema``: the exact JSON Schema each kind of field metadata becomes.

``test_schema.py`` checks every sandbox data type's JSON type; these pin the whole shapes
(nullable types, nested items, decimal precision) on hand-written ``/settings/fields`` entries.
"""

from __future__ import annotations

import pytest
from tap_zoho.crm.schema import bigint_fields, module_schema, property_schema

NULLABLE_STRING = {"type": ["string", "null"]}


def test_a_lookup_is_a_nullable_object_with_id_and_name_and_room_for_more_keys():
    assert property_schema({"data_type": "lookup", "json_type": "jsonobject"}) == {
        "type": ["object", "null"],
        "properties": {"id": NULLABLE_STRING, "name": NULLABLE_STRING},
        "additionalProperties": True,
    }


def test_a_multiselect_picklist_is_an_array_of_strings():
    assert property_schema({"data_type": "multiselectpicklist", "json_type": "jsonarray"}) == {
        "type": ["array", "null"],
        "items": NULLABLE_STRING,
    }


@pytest.mark.parametrize(
    "field",
    [
        {"data_type": "subform", "json_type": "jsonarray"},
        {"data_type": "text", "json_type": "jsonarray"},  # Tag: the wire type wins
        {"data_type": "multiuserlookup"},
    ],
    ids=["subform", "tag", "no-json-type"],
)
def test_arrays_of_records_are_arrays_of_open_objects(field):
    assert property_schema(field) == {
        "type": ["array", "null"],
        "items": {"type": ["object", "null"], "additionalProperties": True},
    }


@pytest.mark.parametrize(
    ("length", "decimal_place", "precision", "scale"),
    [
        (16, 2, 18, 2),  # Zoho's length counts the integer digits only
        (1, 3, 4, 3),
        (9, 0, 9, 0),  # whole numbers stay decimal, scale 0
        (None, 2, 18, 2),  # no length: 16 integer digits
        (0, 2, 18, 2),
        (80, 4, 76, 4),  # ClickHouse's widest Decimal
    ],
)
def test_decimal_precision_is_integer_digits_plus_scale(length, decimal_place, precision, scale):
    field = {"data_type": "currency", "json_type": "double", "length": length}
    field["decimal_place"] = decimal_place

    assert property_schema(field) == {
        "type": ["number", "null"],
        "x-sql-datatype": "decimal",
        "x-sql-datatype-properties": {"precision": precision, "scale": scale},
    }


def test_a_decimal_without_a_scale_is_a_plain_number():
    field = {"data_type": "double", "json_type": "double", "length": 16, "decimal_place": None}

    assert property_schema(field) == {"type": ["number", "null"]}


def test_each_schema_is_a_fresh_copy():
    first = property_schema({"data_type": "datetime", "json_type": "string"})
    first["type"].append("integer")

    assert property_schema({"data_type": "datetime", "json_type": "string"}) == {
        "type": ["string", "null"],
        "format": "date-time",
    }


def test_the_module_schema_is_id_then_every_named_field_then_the_deletion_marker():
    fields = [
        {"api_name": "id", "data_type": "bigint"},  # the record id is always a required string
        {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
        {"data_type": "text"},  # no api_name: not a readable field
        {"api_name": "Amount", "data_type": "currency", "length": 10, "decimal_place": 2},
    ]

    assert module_schema(fields) == {
        "type": "object",
        "properties": {
            "id": {"type": ["string"]},
            "Last_Name": NULLABLE_STRING,
            "Amount": {
                "type": ["number", "null"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"precision": 12, "scale": 2},
            },
            "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
        },
        "required": ["id"],
    }


def test_bigint_and_long_fields_are_the_ones_emitted_as_strings():
    fields = [
        {"api_name": "Big", "data_type": "bigint"},
        {"api_name": "Count", "data_type": "integer"},
        {"api_name": "Long_X", "data_type": "long"},
    ]

    assert bigint_fields(fields) == ["Big", "Long_X"]
    assert property_schema(fields[0]) == NULLABLE_STRING
    assert property_schema(fields[2]) == NULLABLE_STRING
