"""Row shaping rules for Books/Inventory rows (tap_zoho.shaping), without HTTP."""

from __future__ import annotations

import copy
import logging
from datetime import datetime

import pytest
from tap_zoho.finance.schemas import ITEM_SCHEMA
from tap_zoho.shaping import RowShaper, rfc3339


def shaper():
    return RowShaper(copy.deepcopy(ITEM_SCHEMA), "books_items", logging.getLogger("test"))


@pytest.mark.parametrize(
    ("zoho", "emitted"),
    [
        ("2025-05-15T13:44:25-0400", "2025-05-15T13:44:25-04:00"),
        ("2024-01-05T10:20:30+0530", "2024-01-05T10:20:30+05:30"),
        ("2024-01-05T10:20:30+05:30", "2024-01-05T10:20:30+05:30"),
        ("2024-01-05T10:20:30Z", "2024-01-05T10:20:30Z"),
    ],
)
def test_datetimes_become_rfc3339_at_the_same_instant(zoho, emitted):
    assert rfc3339(zoho) == emitted
    assert datetime.strptime(zoho.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z") == (
        datetime.fromisoformat(emitted)
    )


def test_the_unformatted_twin_is_the_typed_value_and_no_column_of_its_own():
    rows = shaper()
    row = {"item_id": "1", "cf_amount": "1,200.00", "cf_amount_unformatted": 1200}

    assert rows.shape(row) is True
    assert row == {"item_id": "1", "cf_amount": 1200}
    assert rows.properties["cf_amount"] == {"type": ["number", "null"]}
    assert "cf_amount_unformatted" not in rows.properties


def test_a_discovered_field_widens_to_a_string_when_a_value_does_not_fit():
    rows = shaper()
    rows.shape({"item_id": "1", "cf_code": 12, "cf_code_unformatted": 12})
    later = {"item_id": "2", "cf_code": "A-12", "cf_code_unformatted": "A-12"}

    assert rows.shape(later) is True
    assert later["cf_code"] == "A-12"
    assert rows.properties["cf_code"] == {"type": ["string", "null"]}
    assert rows.shape({"item_id": "3", "cf_code": 7}) is False  # strings hold every value


def test_empty_values_of_undeclared_fields_declare_nothing_and_later_ones_are_null():
    rows = shaper()
    first = {"item_id": "1", "cf_note": "", "cf_note_unformatted": ""}
    assert rows.shape(first) is False
    assert first == {"item_id": "1"}
    rows.shape({"item_id": "2", "cf_note": "x", "cf_note_unformatted": "x"})
    third = {"item_id": "3", "cf_note": "", "cf_note_unformatted": ""}
    rows.shape(third)
    assert third["cf_note"] is None


def test_declared_fields_keep_their_type_and_a_bad_value_is_null_with_a_warning(caplog):
    rows = shaper()
    row = {
        "item_id": 3850050000000077005,
        "rate": "n/a",
        "reorder_level": "",
        "tax_percentage": "70%",
    }

    assert rows.shape(row) is False
    assert row == {
        "item_id": "3850050000000077005",
        "rate": None,
        "reorder_level": None,
        "tax_percentage": 70,
    }
    assert "books_items: field rate holds 'n/a'" in caplog.text


def test_rows_with_a_custom_fields_array_also_get_flat_keys():
    rows = shaper()
    row = {
        "item_id": "1",
        "custom_fields": [
            {"customfield_id": "9", "label": "Colour", "value": "Red", "api_name": "cf_colour"}
        ],
    }

    rows.shape(row)

    assert row["cf_colour"] == "Red"
    assert row["custom_fields"][0]["value"] == "Red"


def test_custom_field_metadata_types_a_field_even_before_it_holds_a_value():
    rows = shaper()
    rows.learn(
        [
            {
                "customfield_id": "1",
                "label": "Credit",
                "api_name": "cf_credit",
                "data_type": "amount",
            },
            {"customfield_id": "2", "label": "Since", "api_name": "cf_since", "data_type": "date"},
            {"customfield_id": "3", "label": "Code", "api_name": "cf_code", "data_type": "string"},
        ]
    )
    first = {"item_id": "1", "cf_credit": "", "cf_credit_unformatted": "", "cf_code": "700"}

    assert rows.shape(first) is True
    assert first == {"item_id": "1", "cf_credit": None, "cf_code": "700"}
    assert rows.properties["cf_credit"] == {"type": ["number", "null"]}
    assert rows.properties["cf_code"] == {"type": ["string", "null"]}
    later = {
        "item_id": "2",
        "cf_credit": "1,200.00",
        "cf_credit_unformatted": "1200",
        "cf_since": "2024-01-05",
    }
    rows.shape(later)
    assert later["cf_credit"] == 1200
    assert rows.properties["cf_since"]["format"] == "date"


def test_price_list_entries_are_shaped_too():
    from tap_zoho.finance.schemas import PRICEBOOK_SCHEMA

    rows = RowShaper(copy.deepcopy(PRICEBOOK_SCHEMA), "books_pricebooks", logging.getLogger("t"))
    row = {
        "pricebook_id": "1",
        "percentage": "",
        "pricebook_items": [
            {"item_id": 3850050000000077005, "pricebook_rate": ""},
            {"item_id": "2", "pricebook_rate": "9.5"},
        ],
    }

    rows.shape(row)

    assert row["percentage"] is None
    assert row["pricebook_items"] == [
        {"item_id": "3850050000000077005", "pricebook_rate": None},
        {"item_id": "2", "pricebook_rate": 9.5},
    ]
