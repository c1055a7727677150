"""The pure planning of completion (``tap_zoho.crm.completion.plan``): sources, costs, route choice."""

from __future__ import annotations

import pytest
from tap_zoho.crm.completion.plan import (
    CompletionFields,
    Cost,
    Source,
    cheaper_to_export,
    export_cost,
    list_cost,
    listing_budget,
    may_be_cut,
    relist_is_cheaper,
)

LINKED = {
    "api_name": "Contacts",
    "data_type": "multiselectlookup",
    "multiselectlookup": {
        "linking_module": {"api_name": "Leads_X_Contacts", "id": "1"},
        "lookup_apiname": "Contacts_Link",
        "connectedfield_apiname": "Leads_Link",
    },
}
USERS = {
    "api_name": "Reviewers",
    "data_type": "multiuserlookup",
    "multiuserlookup": {
        "linking_module": {"api_name": "Leads_X_Users"},
        "lookup_apiname": "Users_Field",
        "connectedfield_apiname": "Leads_Field",
    },
}
SUBFORM = {"api_name": "Purchased_Items", "data_type": "subform",
           "associated_module": {"module": "Purchase_Items", "id": "2"}}  # fmt: skip


def test_the_field_metadata_names_each_source_module():
    subform, linking, users = (Source.of(f) for f in (SUBFORM, LINKED, USERS))

    assert (subform.kind, subform.module, subform.parent_key) == (
        "subform",
        "Purchase_Items",  # the module, not the field's name
        "Parent_Id",
    )
    assert (linking.module, linking.lookup, linking.parent_key) == (
        "Leads_X_Contacts",
        "Contacts_Link",
        "Leads_Link",
    )
    assert (users.module, users.lookup, users.connected) == (
        "Leads_X_Users",
        "Users_Field",
        "Leads_Field",
    )


@pytest.mark.parametrize(
    "field",
    [
        {"api_name": "Items", "data_type": "subform"},
        {"api_name": "Items", "data_type": "multiselectlookup", "multiselectlookup": {}},
        {"api_name": "Quoted_Items", "data_type": "lineitem"},
    ],
)
def test_a_field_without_its_module_in_the_metadata_has_no_source_module(field):
    assert Source.of(field).module is None


def test_rows_become_the_elements_a_single_record_read_holds():
    subform, linking = Source.of(SUBFORM), Source.of(LINKED)
    row = {"id": "9", "Qty": 2, "Parent_Id": {"name": "Q", "id": "7"}, "$editable": True}
    link = {"id": "5", "Leads_Link": {"name": "L", "id": "3"}, "Contacts_Link": {"id": "4"}}

    assert subform.element(row) == {"id": "9", "Qty": 2, "Parent_Id": {"name": "Q", "id": "7"}}
    assert subform.parent_of(row) == "7"
    assert linking.element(link) == {"Contacts_Link": {"id": "4"}, "id": "5"}
    assert linking.parent_of(link) == "3"
    assert linking.parent_of({"id": "5", "Leads_Link": "3"}) == "3"  # an export's id-only cell


def test_the_plan_takes_only_selected_fields_and_tells_rich_text_a_list_may_have_cut():
    rich = {"api_name": "Notes", "data_type": "textarea", "textarea": {"type": "rich_text"}}
    plan = CompletionFields.for_fields([SUBFORM, LINKED, rich], {"Contacts", "Notes"})

    assert plan.omitted == ("Contacts",)
    assert plan.rich_text == ("Notes",)
    assert plan.rich_cut({"Notes": "x" * 500})
    assert not plan.rich_cut({"Notes": "x" * 499})


def test_a_job_wins_from_about_ten_thousand_rows():
    fields = [{"api_name": "Qty", "data_type": "integer"}]
    source = Source.of(SUBFORM)

    assert list_cost(10_400) == Cost(52, 52)
    assert export_cost(10_400) == Cost(52, 3)
    assert not cheaper_to_export(source, 10_200, fields)  # 51 pages: listing costs less
    assert cheaper_to_export(source, 10_400, fields)  # as many credits: the job takes 3 calls
    assert export_cost(400_001) == Cost(3 * 52, 9)  # a job per 200,000 rows


def test_a_subform_with_a_field_bulk_read_cannot_export_is_never_exported():
    fields = [{"api_name": "Line_Tax", "data_type": "linetax"}]

    assert not cheaper_to_export(Source.of(SUBFORM), 1_000_000, fields)


@pytest.mark.parametrize(
    ("changed", "rich", "listing", "relist"),
    [(10, 0, Cost(12, 12), False), (13, 0, Cost(12, 12), True), (20, 9, Cost(12, 12), False)],
)
def test_an_incremental_run_relists_once_that_costs_less_than_a_read_each(
    changed, rich, listing, relist
):
    assert relist_is_cheaper(changed, rich, listing) is relist


def test_a_listing_of_unknown_size_is_worth_only_what_the_reads_it_replaces_cost():
    assert listing_budget(590, 295, 2) == 293  # past it, one read a parent is cheaper
    assert listing_budget(3, 2, 2) < 1


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

    plan = CompletionFields.for_fields(
        fields, {"Quoted_Items", "Product_Details", "Notes", "Plain"}
    )

    assert plan.omitted == ("Quoted_Items", "Product_Details")
    assert plan.rich_text == ("Notes",)
