"""Which values a list may have cut or left out, and how Zoho says a value holds more (tap_zoho.details)."""

from __future__ import annotations

import pytest
from tap_zoho.details import DetailPlan, may_be_cut


@pytest.mark.parametrize(
    ("value", "cut"),
    [("x" * 500, True), ("x" * 499, False), ("😀" * 250, True), (None, False), ("x" * 900, True)],
)
def test_a_rich_text_value_may_be_cut_from_500_characters_under_either_counting(value, cut):
    assert may_be_cut(value) is cut


def test_the_plan_recognises_line_items_by_name_and_the_legacy_lineitem_type():
    fields = [
        {"api_name": "Quoted_Items", "data_type": "text"},
        {"api_name": "Product_Details", "data_type": "lineitem"},
        {"api_name": "Notes", "data_type": "textarea", "textarea": {"type": "rich_text"}},
        {"api_name": "Plain", "data_type": "textarea", "textarea": {"type": "plain"}},
    ]

    plan = DetailPlan.for_fields(fields, {"Quoted_Items", "Product_Details", "Notes", "Plain"})

    assert plan.omitted == ("Quoted_Items", "Product_Details")
    assert plan.rich_text == ("Notes",)


@pytest.mark.parametrize("has_more", [{"Quoted_Items": True}, ["Quoted_Items"]])
def test_has_more_is_read_as_a_map_or_a_list_of_field_names(has_more):
    plan = DetailPlan(omitted=("Quoted_Items",))
    record = {"id": "1", "Quoted_Items": None}

    truncated = plan.merge(
        record, {"id": "1", "Quoted_Items": [{"id": "9"}], "$has_more": has_more}
    )

    assert truncated == ["Quoted_Items"]
    assert record["Quoted_Items"] == [{"id": "9"}]
