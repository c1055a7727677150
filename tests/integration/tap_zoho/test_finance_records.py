"""Every Books/Inventory record and every value: defaults that hide records, real row shapes,
custom fields, per-item price-list rates (issue 8)."""

from __future__ import annotations

import pytest
from tap_zoho.finance.schemas import CONTACT_SCHEMA, ITEM_SCHEMA, PRICEBOOK_SCHEMA

from tests.support.finance_compare import record_problems
from tests.support.tap import books_config, finance_config, run_tap
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG
from tests.zoho_sandbox.finance import json_copy, with_formatted_times

BOTH = {"books_organization_id": BOOKS_ORG, "inventory_organization_id": [BOOKS_ORG, SECOND_ORG]}
KEYS = {"items": "item_id", "contacts": "contact_id", "pricebooks": "pricebook_id"}
DECLARED = {
    "items": frozenset(ITEM_SCHEMA["properties"]),
    "contacts": frozenset(CONTACT_SCHEMA["properties"]),
    "pricebooks": frozenset(PRICEBOOK_SCHEMA["properties"]),
}


def wire_rows(sandbox, family, org_id, resource):
    """The sandbox's live rows as its list endpoint shapes them, price lists with their rates."""
    org = sandbox.finance.orgs[org_id]
    rows = {rid: json_copy(row) for rid, row in getattr(org, resource).items()}
    if family == "inventory" and resource == "contacts":
        rows = {rid: with_formatted_times(row) for rid, row in rows.items()}
    return rows


def latest(runs, stream):
    """Records of the runs by (organisation, id), later runs winning."""
    key = KEYS[stream.split("_", 1)[1]]
    merged = {}
    for run in runs:
        for record in run.records[stream]:
            merged[record["organization_id"], record[key]] = record
    return merged


def assert_equal_to_the_sandbox(sandbox, runs, config):
    for family, orgs in (("books", [BOOKS_ORG]), ("inventory", [BOOKS_ORG, SECOND_ORG])):
        if not config.get(f"{family}_organization_id"):
            continue
        for resource in KEYS:
            stream = f"{family}_{resource}"
            emitted = latest(runs, stream)
            properties = runs[-1].schemas[stream]["properties"]
            expected = {
                (org, rid): row
                for org in orgs
                for rid, row in wire_rows(sandbox, family, org, resource).items()
            }
            assert emitted.keys() == expected.keys(), stream
            problems = {
                key: record_problems(row, emitted[key], properties, DECLARED[resource])
                for key, row in expected.items()
            }
            assert not any(problems.values()), {k: p for k, p in problems.items() if p}


# ----------------------------------------------------------------- defaults that hide records
@pytest.mark.parametrize(
    ("stream", "resource", "hidden"),
    [
        ("books_items", "items", lambda r: r["status"] == "inactive"),
        ("inventory_contacts", "contacts", lambda r: r["status"] == "inactive"),
        ("books_pricebooks", "pricebooks", lambda r: r["sales_or_purchase_type"] == "purchases"),
    ],
)
def test_records_a_default_filter_would_hide_arrive(finance, stream, resource, hidden):
    run = run_tap(finance_config(finance))

    org = finance.finance.orgs[BOOKS_ORG]
    hidden_ids = {rid for rid, row in getattr(org, resource).items() if hidden(row)}
    assert hidden_ids
    key = KEYS[resource]
    emitted = {r[key] for r in run.records[stream] if r["organization_id"] == BOOKS_ORG}
    assert hidden_ids <= emitted
    assert emitted == set(getattr(org, resource))


def test_incremental_runs_ask_for_every_status_too(finance):
    config = finance_config(finance)
    first = run_tap(config)
    org = finance.finance.orgs[BOOKS_ORG]
    contact = next(c for c, r in org.contacts.items() if r["status"] == "active")
    finance.finance.put_contact(
        org, {**org.contacts[contact], "status": "inactive"}, contact_id=contact
    )

    second = run_tap(config, state=first.state)

    assert [r["contact_id"] for r in second.records["books_contacts"]] == [contact]
    assert second.records["books_contacts"][0]["status"] == "inactive"


# ----------------------------------------------------------------- price lists
def test_price_lists_carry_the_per_item_rates_of_the_single_price_list(finance):
    run = run_tap(finance_config(finance))

    org = finance.finance.orgs[BOOKS_ORG]
    books = {r["pricebook_id"]: r for r in run.records["books_pricebooks"]}
    assert books.keys() == org.pricebooks.keys()
    for book_id, book in org.pricebooks.items():
        assert books[book_id]["pricebook_items"] == book["pricebook_items"]
    details = [p for p, _ in finance.finance.queries if p.startswith("/books/v3/pricebooks/")]
    assert len(details) == len(org.pricebooks)  # one read per price list, none per item


# ----------------------------------------------------------------- shapes and custom fields
def test_custom_fields_are_typed_columns_from_their_unformatted_values(finance):
    run = run_tap(finance_config(finance))

    properties = run.schemas["books_items"]["properties"]
    assert properties["cf_warranty_months"]["type"] == ["number", "null"]
    assert properties["cf_launch_date"]["format"] == "date"
    assert properties["cf_hazardous"]["type"] == ["boolean", "null"]
    assert properties["cf_aro"]["type"] == ["string", "null"]
    assert not any(name.endswith("_unformatted") for name in properties)
    org = finance.finance.orgs[BOOKS_ORG]
    items = {r["item_id"]: r for r in run.records["books_items"]}
    launched = next(i for i, r in org.items.items() if r["cf_launch_date"])
    assert items[launched]["cf_launch_date"] == org.items[launched]["cf_launch_date_unformatted"]
    assert "cf_colour" in run.schemas["inventory_items"]["properties"]  # the second organisation's
    assert "cf_colour" not in properties


def test_a_custom_field_created_mid_stream_is_announced_before_its_first_record(finance):
    org = finance.finance.orgs[BOOKS_ORG]
    late = sorted(org.items, key=lambda i: org.modified[i])[-1]

    def create_field():
        finance.finance.add_custom_field(BOOKS_ORG, "items", "supplier_code")
        finance.finance.update_item(
            BOOKS_ORG, late, {"cf_supplier_code": "S-77", "cf_supplier_code_unformatted": "S-77"}
        )

    finance.on_call(2, create_field)
    run = run_tap(finance_config(finance, books_only=True, page_size=50))

    schema = None
    for message in run.messages:
        if message.get("stream") != "books_items":
            continue
        if message["type"] == "SCHEMA":
            schema = message["schema"]
        elif "cf_supplier_code" in message["record"]:
            assert "cf_supplier_code" in schema["properties"]
            assert message["record"]["cf_supplier_code"] == "S-77"
            break
    else:
        pytest.fail("no record carried the new custom field")


def test_numbers_that_arrive_as_empty_or_numeric_strings_are_emitted_as_numbers_or_null(finance):
    run = run_tap(finance_config(finance, books_only=True))

    items = run.records["books_items"]
    assert {type(r["reorder_level"]) for r in items} == {float, type(None)}
    assert all(isinstance(r["tax_percentage"], (int, float)) for r in items)
    assert {r["tax_percentage"] for r in items} >= {0, 12.5, 70}
    contacts = run.records["books_contacts"]
    assert {type(r["payment_terms"]) for r in contacts} == {int, type(None)}
    assert all(r["created_time"][-3] == ":" for r in items + contacts)


# ----------------------------------------------------------------- acceptance
def test_full_then_incremental_deliver_every_record_equal_to_the_sandbox(finance):
    config = finance_config(finance)
    first = run_tap(config)
    assert first.error is None
    assert_equal_to_the_sandbox(finance, [first], config)

    org = finance.finance.orgs[BOOKS_ORG]
    items = sorted(org.items)
    finance.finance.update_item(BOOKS_ORG, items[0], {"rate": 99.5, "reorder_level": ""})
    finance.finance.update_item(BOOKS_ORG, items[3], {"status": "inactive"})
    finance.finance.add_custom_field(BOOKS_ORG, "contacts", "tier")
    contact = sorted(org.contacts)[5]
    finance.finance.put_contact(
        org,
        {**org.contacts[contact], "cf_tier": "Gold", "cf_tier_unformatted": "Gold"},
        contact_id=contact,
    )
    finance.finance.put_item(
        finance.finance.orgs[SECOND_ORG],
        {"name": "New", "status": "active", "rate": 5, "reorder_level": "", "tax_percentage": "5%"},
    )
    book = next(iter(org.pricebooks.values()))
    book["pricebook_items"][0]["pricebook_rate"] = 1.25

    second = run_tap(config, state=first.state)

    assert second.error is None
    assert len(second.records["books_items"]) == 2
    assert_equal_to_the_sandbox(finance, [first, second], config)


def test_a_stream_map_leaves_a_custom_field_out_of_schema_and_records(finance):
    run = run_tap(
        finance_config(finance, books_only=True, stream_maps={"books_items": {"cf_aro": None}})
    )

    assert "cf_aro" not in run.schemas["books_items"]["properties"]
    assert "cf_warranty_months" in run.schemas["books_items"]["properties"]
    assert not any("cf_aro" in r for r in run.records["books_items"])


def test_fields_deselected_in_the_catalog_stay_out_of_schemas_and_records(finance):
    from tap_zoho.tap import TapZoho

    config = finance_config(finance, books_only=True)
    catalog = TapZoho(config=config).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == ["properties", "sku"]:
                entry["metadata"]["selected"] = False

    run = run_tap(config, catalog=catalog)

    items = run.records["books_items"]
    assert items
    assert not any("sku" in r for r in items)
    assert all(
        "sku" not in m["schema"]["properties"]
        for m in run.messages
        if m["type"] == "SCHEMA" and m["stream"] == "books_items"
    )
    assert "cf_aro" in run.schemas["books_items"]["properties"]  # new fields follow their stream


def test_a_price_list_deleted_between_list_and_detail_is_skipped(finance):
    org = finance.finance.orgs[BOOKS_ORG]
    gone = next(iter(org.pricebooks))
    listing = finance.finance._list_resource

    def list_then_delete(family, organization, plural, query, limits):
        answer = listing(family, organization, plural, query, limits)
        if plural == "pricebooks":
            organization.pricebooks.pop(gone, None)  # deleted in Zoho right after the list
        return answer

    finance.finance._list_resource = list_then_delete
    run = run_tap(finance_config(finance, books_only=True))

    assert run.error is None
    assert f"/books/v3/pricebooks/{gone}" in {path for path, _ in finance.finance.queries}
    ids = {r["pricebook_id"] for r in run.records["books_pricebooks"]}
    assert gone not in ids
    assert ids == set(org.pricebooks)


def test_every_item_contact_and_price_list_arrives_with_its_organisation(sandbox):
    run = run_tap(
        sandbox.tap_config(
            crm_enabled=False,
            books_organization_id=BOOKS_ORG,
            inventory_organization_id=[BOOKS_ORG, SECOND_ORG],
        )
    )

    assert run.error is None
    org = sandbox.finance.orgs[BOOKS_ORG]
    assert sorted(r["item_id"] for r in run.records["books_items"]) == sorted(org.items)
    assert sorted(r["contact_id"] for r in run.records["books_contacts"]) == sorted(org.contacts)
    assert {r["organization_id"] for r in run.records["inventory_items"]} == {BOOKS_ORG, SECOND_ORG}
    assert len(run.records["inventory_items"]) == len(org.items) + len(
        sandbox.finance.orgs[SECOND_ORG].items
    )
    book = run.records["books_pricebooks"][0]
    assert book["pricebook_items"]
    assert {"item_id", "pricebook_rate"} <= set(book["pricebook_items"][0])


def test_item_records_carry_the_legacy_image_url_or_null(sandbox):
    run = run_tap(books_config(sandbox))

    items = run.records["books_items"]
    with_image = next(r for r in items if r["image_document_id"])
    without_image = next(r for r in items if not r["image_document_id"])
    assert with_image["image_url"] == (
        f"{sandbox.base_url}/inventory/v1/items/{with_image['item_id']}/image"
        f"?organization_id={BOOKS_ORG}"
    )
    assert without_image["image_url"] is None
    assert all(isinstance(r["tax_percentage"], (int, float)) for r in items)


def test_money_is_typed_as_decimal_in_the_schema(sandbox):
    run = run_tap(books_config(sandbox))

    rate = run.schemas["books_items"]["properties"]["rate"]
    assert rate["x-sql-datatype"] == "decimal"
    assert run.schemas["books_items"]["properties"]["organization_id"]["type"] == ["string"]
