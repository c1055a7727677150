"""Zoho Books and Inventory streams: organisations, incremental keyset windows, images, active-only."""

from __future__ import annotations

import time

from tap_zoho.api.pacing import Pacer

from tests.conftest import run_tap
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG, Sandbox


def books_config(sandbox, **extra):
    return sandbox.tap_config(crm_enabled=False, books_organization_id=BOOKS_ORG, **extra)


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


def test_incremental_items_and_contacts_return_exactly_what_changed(sandbox):
    config = books_config(sandbox)
    first = run_tap(config)
    org = sandbox.finance.orgs[BOOKS_ORG]
    items = sorted(org.items)
    sandbox.finance.update_item(BOOKS_ORG, items[0], {"rate": 99.5})
    sandbox.finance.update_item(BOOKS_ORG, items[7], {"status": "inactive"})
    created = sandbox.finance.put_item(org, {"name": "New", "sku": "N-1", "status": "active"})
    contact = sandbox.finance.put_contact(
        org, {"contact_name": "Fresh", "contact_type": "customer", "status": "active"}
    )

    second = run_tap(config, state=first.state)

    assert sorted(r["item_id"] for r in second.records["books_items"]) == sorted(
        [items[0], items[7], created]
    )
    assert [r["contact_id"] for r in second.records["books_contacts"]] == [contact]
    third = run_tap(config, state=second.state)
    assert third.records["books_items"] == []
    # Zoho ignores misspelled filters (pitfall 13): the exact names are what make this incremental.
    incremental = [
        q
        for path, q in sandbox.finance.queries
        if path == "/books/v3/items" and "last_modified_time" in q
    ]
    assert incremental
    assert all(
        q["sort_column"] == "last_modified_time"
        and q["sort_order"] == "A"
        and q["organization_id"] == BOOKS_ORG
        for q in incremental
    )


def test_items_sharing_one_second_across_pages_are_neither_lost_nor_repeated():
    sandbox = Sandbox(specs=[])
    sandbox.start()
    try:
        org = sandbox.finance.orgs[BOOKS_ORG]
        config = books_config(sandbox, page_size=50)
        first = run_tap(config)
        stamp = sandbox.store.clock.advance()
        batch = [
            sandbox.finance.put_item(org, {"name": f"t{i}", "status": "active"}, epoch=stamp)
            for i in range(130)
        ]
        second = run_tap(config, state=first.state)
        more = [
            sandbox.finance.put_item(org, {"name": f"u{i}", "status": "active"}, epoch=stamp)
            for i in range(20)
        ]
        third = run_tap(config, state=second.state)
    finally:
        sandbox.stop()

    assert sorted(r["item_id"] for r in second.records["books_items"]) == sorted(batch)
    assert sorted(r["item_id"] for r in third.records["books_items"]) == sorted(more)


def test_items_edited_while_the_sync_pages_are_not_lost():
    sandbox = Sandbox(specs=[])
    sandbox.start()
    try:
        org = sandbox.finance.orgs[BOOKS_ORG]
        ids = sorted(org.items, key=lambda i: org.modified[i])

        def edit_early_items():
            for iid in ids[:30]:
                sandbox.finance.update_item(BOOKS_ORG, iid, {"description": "edited"})

        sandbox.on_call(3, edit_early_items)
        run = run_tap(books_config(sandbox, page_size=20))
    finally:
        sandbox.stop()

    latest = {r["item_id"]: r for r in run.records["books_items"]}
    assert latest.keys() == org.items.keys()
    assert all(latest[i]["description"] == "edited" for i in ids[:30])


def test_active_only_filters_at_the_source_and_still_emits_items_that_turn_inactive(sandbox):
    config = books_config(sandbox, items_active_only=True)
    org = sandbox.finance.orgs[BOOKS_ORG]
    first = run_tap(config)
    active = [i for i, r in org.items.items() if r["status"] == "active"]
    first_active = [r for r in first.records["books_items"] if r["status"] == "active"]
    assert sorted(r["item_id"] for r in first_active) == sorted(active)

    sandbox.finance.update_item(BOOKS_ORG, active[0], {"status": "inactive"})
    second = run_tap(config, state=first.state)

    assert [(r["item_id"], r["status"]) for r in second.records["books_items"]] == [
        (active[0], "inactive")
    ]


def test_a_price_list_endpoint_answering_404_is_reported_and_skipped(sandbox):
    sandbox.finance.pricebooks_missing.add(BOOKS_ORG)

    run = run_tap(books_config(sandbox))

    assert run.error is None
    failed = {m["module"]: m["error"] for m in run.summary["failed_modules"]}
    assert "404" in failed[f"books_pricebooks[{BOOKS_ORG}]"]
    assert run.records["books_items"]


def test_an_unknown_organisation_fails_that_partition_only(sandbox):
    run = run_tap(sandbox.tap_config(crm_enabled=False, books_organization_id=[BOOKS_ORG, "999"]))

    failed = {m["module"] for m in run.summary["failed_modules"]}
    assert "books_items[999]" in failed
    assert {r["organization_id"] for r in run.records["books_items"]} == {BOOKS_ORG}
    assert run.error is not None  # an unexpected failure makes the run exit non-zero


def test_the_per_minute_throttle_is_retried_until_the_window_frees():
    sandbox = Sandbox(specs=[])
    sandbox.finance.per_minute = 4
    sandbox.finance.window_seconds = 1.0
    sandbox.start()
    try:
        run = run_tap(
            books_config(sandbox, page_size=20, finance_requests_per_minute=1000, max_retries=10)
        )
        throttled = sandbox.stats.requests["TOO_MANY_REQUESTS"]
    finally:
        sandbox.stop()

    assert run.error is None
    assert throttled > 0
    assert len(run.records["books_items"]) == 120


def test_the_pacer_keeps_calls_under_the_limit():
    pacer = Pacer(per_minute=3, window_seconds=0.3)
    started = time.monotonic()
    for _ in range(7):
        pacer.wait("org")
    assert time.monotonic() - started >= 0.55  # 7 calls at 3 per 0.3 s need two full waits


def test_books_only_accounts_skip_crm_when_it_is_not_authorised(sandbox):
    narrow = sandbox.accounts.issue_refresh_token(
        sandbox.tap_config()["client_id"], "ZohoBooks.fullaccess.all"
    )
    run = run_tap(sandbox.tap_config(refresh_token=narrow, books_organization_id=BOOKS_ORG))

    assert run.error is None
    assert run.records["books_items"]
    assert not any(name in run.records for name in ("leads", "accounts"))
