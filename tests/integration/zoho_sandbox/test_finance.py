"""The Books/Inventory part of the sandbox follows section 6 of shared/zoho-api.md."""

from __future__ import annotations

import re

import pytest

from tests.zoho_sandbox import BOOKS_ORG, Sandbox


@pytest.fixture
def api_sandbox():
    return Sandbox(specs=[])


def get(api, path, **params):
    sandbox, session = api
    return session.get(f"{sandbox.base_url}{path}", params=params, timeout=5)


def test_organization_id_is_required_and_checked(api):
    assert get(api, "/books/v3/items").json()["code"] != 0
    assert get(api, "/books/v3/items", organization_id="999").status_code == 400
    assert get(api, "/books/v3/items", organization_id=BOOKS_ORG).json()["code"] == 0


def test_list_envelope_page_context_and_per_page_limit(api):
    body = get(api, "/inventory/v1/items", organization_id=BOOKS_ORG, per_page=50).json()
    assert body["message"] == "success"
    assert len(body["items"]) == 50
    assert body["page_context"]["has_more_page"] is True
    assert (
        get(api, "/inventory/v1/items", organization_id=BOOKS_ORG, per_page=201).status_code == 400
    )


def test_times_use_colon_less_offsets_and_filter_strictly_after(api):
    body = get(
        api,
        "/books/v3/contacts",
        organization_id=BOOKS_ORG,
        sort_column="last_modified_time",
        sort_order="A",
    ).json()
    stamps = [c["last_modified_time"] for c in body["contacts"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", s) for s in stamps)
    after = get(
        api,
        "/books/v3/contacts",
        organization_id=BOOKS_ORG,
        last_modified_time=stamps[10],
        sort_column="last_modified_time",
    ).json()
    assert [c["last_modified_time"] for c in after["contacts"]] == stamps[11:]


def test_misspelled_filters_are_ignored_like_zoho_does(api):
    full = get(api, "/books/v3/items", organization_id=BOOKS_ORG).json()["items"]
    typo = get(
        api,
        "/books/v3/items",
        organization_id=BOOKS_ORG,
        last_modifed_time="2099-01-01T00:00:00+0000",
    ).json()["items"]
    assert len(typo) == len(full)


def test_pricebooks_exist_and_pricelists_answer_404(api):
    assert get(api, "/inventory/v1/pricebooks", organization_id=BOOKS_ORG).json()["pricebooks"]
    assert get(api, "/inventory/v1/pricelists", organization_id=BOOKS_ORG).status_code == 404
    assert get(api, "/books/v3/pricelists", organization_id=BOOKS_ORG).status_code == 404


def test_the_per_minute_throttle_answers_429_with_rate_headers(api):
    sandbox, _ = api
    sandbox.finance.per_minute = 3
    answers = [get(api, "/books/v3/items", organization_id=BOOKS_ORG) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] != 0
    assert answers[3].headers["X-Rate-Limit-Remaining"] == "0"
    assert "X-Rate-Limit-Reset" in answers[0].headers


def test_item_images_are_served_by_inventory_only(api):
    sandbox, _ = api
    org = sandbox.finance.orgs[BOOKS_ORG]
    with_image = next(i for i, r in org.items.items() if r["image_document_id"])
    without = next(i for i, r in org.items.items() if not r["image_document_id"])
    image = get(api, f"/inventory/v1/items/{with_image}/image", organization_id=BOOKS_ORG)
    assert image.headers["Content-Type"] == "image/png"
    assert (
        get(api, f"/inventory/v1/items/{without}/image", organization_id=BOOKS_ORG).status_code
        == 404
    )


def test_seeded_items_cover_active_inactive_stock_and_images(api):
    sandbox, _ = api
    items = sandbox.finance.orgs[BOOKS_ORG].items.values()
    assert {i["status"] for i in items} == {"active", "inactive"}
    assert any(i.get("stock_on_hand") == 0 for i in items)
    assert any(i.get("stock_on_hand", 0) > 0 for i in items)
    assert any("stock_on_hand" not in i for i in items)  # services carry no stock
    assert any(i["image_document_id"] for i in items)
    assert any(not i["image_document_id"] for i in items)


@pytest.mark.parametrize(
    ("path", "plural", "hidden"),
    [
        ("/books/v3/items", "items", lambda r: r["status"] == "inactive"),
        ("/inventory/v1/contacts", "contacts", lambda r: r["status"] == "inactive"),
        (
            "/inventory/v1/pricebooks",
            "pricebooks",
            lambda r: r["sales_or_purchase_type"] == "purchases",
        ),
    ],
)
def test_without_filter_by_a_list_hides_records_as_the_stricter_reading_says(
    api, path, plural, hidden
):
    everything = {"items": "Status.All", "contacts": "Status.All"}.get(
        plural, "SalesOrPurchaseType.All"
    )
    default = get(api, path, organization_id=BOOKS_ORG).json()[plural]
    full = get(api, path, organization_id=BOOKS_ORG, filter_by=everything).json()[plural]

    assert any(hidden(r) for r in full)
    assert not any(hidden(r) for r in default)
    assert len(default) == len([r for r in full if not hidden(r)])


def test_a_filter_by_value_of_another_list_is_refused(api):
    answer = get(api, "/books/v3/pricebooks", organization_id=BOOKS_ORG, filter_by="Status.All")
    assert answer.status_code == 400
    assert answer.json()["code"] != 0


def test_list_rows_carry_flat_custom_fields_and_empty_strings_for_missing_numbers(api):
    rows = get(api, "/books/v3/items", organization_id=BOOKS_ORG, filter_by="Status.All").json()
    items = rows["items"]
    assert all("custom_fields" not in r for r in items)
    assert {"cf_aro", "cf_aro_unformatted", "cf_warranty_months_unformatted"} <= set(items[1])
    assert any(r["reorder_level"] == "" for r in items)
    assert any(isinstance(r["tax_percentage"], str) for r in items)
    contacts = get(api, "/books/v3/contacts", organization_id=BOOKS_ORG).json()["contacts"]
    assert all("custom_fields" not in r and "cf_segment_unformatted" in r for r in contacts)


def test_price_list_rows_lack_their_rates_and_the_single_price_list_carries_them(api):
    books = get(
        api,
        "/inventory/v1/pricebooks",
        organization_id=BOOKS_ORG,
        filter_by="SalesOrPurchaseType.All",
    ).json()["pricebooks"]
    assert books
    assert all("pricebook_items" not in b for b in books)
    detail = get(
        api, f"/inventory/v1/pricebooks/{books[0]['pricebook_id']}", organization_id=BOOKS_ORG
    )
    assert detail.json()["pricebook"]["pricebook_items"][0].keys() >= {"item_id", "pricebook_rate"}
    missing = get(api, "/inventory/v1/pricebooks/1", organization_id=BOOKS_ORG)
    assert missing.status_code == 404


def test_inventory_contacts_carry_formatted_time_twins(api):
    rows = get(api, "/inventory/v1/contacts", organization_id=BOOKS_ORG).json()["contacts"]
    assert all("last_modified_time_formatted" in r for r in rows)
    books = get(api, "/books/v3/contacts", organization_id=BOOKS_ORG).json()["contacts"]
    assert all("last_modified_time_formatted" not in r for r in books)


def test_an_item_deleted_leaves_the_lists_and_its_detail_is_zoho_not_found(api):
    sandbox, _ = api
    org = sandbox.finance.orgs[BOOKS_ORG]
    kept, gone = sorted(org.items)[:2]
    assert (
        get(api, f"/books/v3/items/{gone}", organization_id=BOOKS_ORG).json()["item"]["item_id"]
        == gone
    )

    sandbox.finance.delete_item(BOOKS_ORG, gone)

    answer = get(api, f"/books/v3/items/{gone}", organization_id=BOOKS_ORG)
    assert answer.status_code == 404
    assert answer.json() == {"code": 1002, "message": "Item does not exist."}
    assert get(api, f"/inventory/v1/items/{gone}", organization_id=BOOKS_ORG).status_code == 404
    assert get(api, f"/books/v3/items/{kept}", organization_id=BOOKS_ORG).status_code == 200
    for filter_by in ("Status.All", "Status.Active", "Status.Inactive"):
        rows = get(
            api, "/books/v3/items", organization_id=BOOKS_ORG, filter_by=filter_by, per_page=200
        ).json()["items"]
        assert gone not in {r["item_id"] for r in rows}
