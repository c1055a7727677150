"""Bulk Read CSV cells become the values Get Records delivers, in either reading of the contract."""

from __future__ import annotations

import pytest
from tap_zoho.crm.bulk_read.csv_rows import RowConverter, converter_for
from tap_zoho.errors import BadCellError

PICKLIST = {
    "api_name": "Channels",
    "data_type": "multiselectpicklist",
    "json_type": "jsonarray",
    "pick_list_values": [{"actual_value": v} for v in ["Email", "Phone", "Post, first class"]],
}


@pytest.mark.parametrize("header", ["Id", "id"])
def test_the_id_column_may_be_headed_either_way(header):
    fields = {"Name": {"data_type": "text", "json_type": "string"}}
    converter = RowConverter([header, "Name", "Unknown_Column"], fields, "leads")

    assert converter.record(["42", "Ana", "x"]) == {"id": "42", "Name": "Ana"}


def test_a_csv_without_an_id_column_is_one_clear_error():
    with pytest.raises(BadCellError, match="no id column"):
        RowConverter(["Name"], {"Name": {"data_type": "text"}}, "leads")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Email,Phone", ["Email", "Phone"]),
        ("Email;Phone", ["Email", "Phone"]),
        ("Post, first class,Email", ["Post, first class", "Email"]),
        ("Unknown,Email", ["Unknown", "Email"]),
        ("Phone", ["Phone"]),
    ],
)
def test_multi_selects_split_on_either_separator_into_known_values(cell, expected):
    assert converter_for(PICKLIST)(cell) == expected


@pytest.mark.parametrize(
    ("field", "cell", "expected"),
    [
        ({"data_type": "integer", "json_type": "integer"}, "42", 42),
        ({"data_type": "integer", "json_type": "integer"}, "0.0", 0),
        ({"data_type": "bigint", "json_type": "string"}, "9007199254740993", "9007199254740993"),
        ({"data_type": "currency", "json_type": "double", "decimal_place": 2}, "1999.00", 1999.0),
        ({"data_type": "boolean", "json_type": "boolean"}, "true", True),
        ({"data_type": "boolean", "json_type": "boolean"}, "FALSE", False),
        (
            {"data_type": "datetime", "json_type": "string"},
            "2024-01-05T10:20:30Z",
            "2024-01-05T10:20:30+00:00",
        ),
        (
            {"data_type": "lookup", "json_type": "jsonobject"},
            "5843104000000425001",
            {"id": "5843104000000425001"},
        ),
        (
            {"data_type": "text", "json_type": "jsonarray"},
            "vip,new",
            [{"name": "vip"}, {"name": "new"}],
        ),
        ({"data_type": "RRULE", "json_type": "jsonobject"}, "FREQ=DAILY", {"RRULE": "FREQ=DAILY"}),
        (
            {"data_type": "formula", "json_type": "double", "formula": {"return_type": "currency"}},
            "12.50",
            12.5,
        ),
    ],
)
def test_cells_are_typed_like_get_records_values(field, cell, expected):
    assert converter_for(field)(cell) == expected


def test_a_bad_number_names_stream_column_and_value():
    fields = {"Qty": {"data_type": "integer", "json_type": "integer"}}
    converter = RowConverter(["Id", "Qty"], fields, "deals")

    with pytest.raises(BadCellError, match=r"deals: column Qty of record 7: bad value 'many'"):
        converter.record(["7", "many"])
    assert converter.record(["8", ""]) == {"id": "8", "Qty": None}


def test_a_cell_cut_inside_a_character_holds_u_fffd_and_is_told_once_per_row():
    fields = {"Body": {"data_type": "textarea", "json_type": "string"}}
    told = []
    converter = RowConverter(["Id", "Body"], fields, "Leads", lambda r, w: told.append((r, w)))
    cut = "ok \U0001f642".encode()[:-1].decode("utf-8", "surrogateescape")  # as the CSV is read

    assert converter.record(["7", cut]) == {"id": "7", "Body": "ok \ufffd\ufffd\ufffd"}
    assert converter.record(["8", "whole \U0001f642"]) == {"id": "8", "Body": "whole \U0001f642"}
    ((repairs, where),) = told
    assert [(r.record, r.field) for r in repairs] == [("7", "Body")]
    assert where == "Bulk Read CSV of Leads"
