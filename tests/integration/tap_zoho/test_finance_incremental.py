"""Books/Inventory incremental runs: keyset windows, ties across pages, edits while paging, active-only."""

from __future__ import annotations

from tests.support.tap import books_config, finance_config, run_tap
from tests.zoho_sandbox import BOOKS_ORG, Sandbox


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


def test_incremental_contacts_stay_exact_when_books_ignores_the_modified_filter(finance):
    """Books does not document ``last_modified_time`` on contacts (6.4): both readings work."""
    finance.finance.ignored_params.add(("/books/v3/contacts", "last_modified_time"))
    config = finance_config(finance, books_only=True, page_size=15)
    first = run_tap(config)
    org = finance.finance.orgs[BOOKS_ORG]
    contact = sorted(org.contacts)[2]
    finance.finance.put_contact(
        org, {**org.contacts[contact], "email": "new@example.org"}, contact_id=contact
    )

    calls = len(finance.finance.queries)
    second = run_tap(config, state=first.state)

    pages = [p for p, q in finance.finance.queries[calls:] if p == "/books/v3/contacts"]
    assert len(pages) >= 3  # every contact was served again: the filter really was ignored
    assert len(first.records["books_contacts"]) == len(org.contacts)
    assert [(r["contact_id"], r["email"]) for r in second.records["books_contacts"]] == [
        (contact, "new@example.org")
    ]
