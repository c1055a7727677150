"""items_reconcile_deletions: a complete items listing carries one version and ends in ACTIVATE_VERSION.

Books keeps no deletion feed: the sandbox deletes items as Zoho does (gone from every list,
``GET /items/{id}`` answers 404 code 1002), and only a listing completed within one run may tell
targets which items are gone.
"""

from __future__ import annotations

import json
import math

from tests.support.listing import ITEMS, activations, delete, item_calls, listed, versions
from tests.support.tap import books_config, run_tap
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG


def test_a_deleted_item_leaves_the_item_list_and_every_price_list(finance):
    org = finance.finance.orgs[BOOKS_ORG]
    priced = next(b for b in org.pricebooks.values() if b["pricebook_items"])
    gone = priced["pricebook_items"][0]["item_id"]
    before = run_tap(books_config(finance))
    assert gone in {r["item_id"] for r in before.records[ITEMS]}

    delete(finance, gone)
    after = run_tap(books_config(finance))

    assert {r["item_id"] for r in after.records[ITEMS]} == set(org.items)
    assert gone not in org.items
    assert all(
        e["item_id"] != gone
        for book in after.records["books_pricebooks"]
        for e in book["pricebook_items"]
    )


def test_a_full_refresh_stamps_every_item_and_activates_its_version_after_the_last(finance):
    run = run_tap(books_config(finance))

    (activation,) = activations(run)
    version = activation["version"]
    assert versions(run) == {version}
    assert listed(run, version) == set(finance.finance.orgs[BOOKS_ORG].items)
    position = run.messages.index(activation)
    last_item = max(
        i for i, m in enumerate(run.messages) if m["type"] == "RECORD" and m["stream"] == ITEMS
    )
    assert position > last_item
    assert any(m["type"] == "STATE" for m in run.messages[position:])
    assert "reconcile_pending" not in json.dumps(run.state)
    assert versions(run, "books_contacts") == {None}  # only items are reconciled
    assert activations(run, "books_contacts") == []


def test_incremental_runs_cost_the_same_and_claim_nothing_unless_asked(finance):
    first = run_tap(books_config(finance))
    delete(finance, sorted(finance.finance.orgs[BOOKS_ORG].items)[0])
    before = len(finance.finance.queries)
    auto = run_tap(books_config(finance), state=first.state)
    auto_calls = item_calls(finance, before)
    before = len(finance.finance.queries)
    off = run_tap(books_config(finance, items_reconcile_deletions=False), state=first.state)

    assert activations(auto) == activations(off) == []
    assert versions(auto) <= {None}
    assert len(auto_calls) == len(item_calls(finance, before)) == 1


def test_an_incremental_run_asked_to_reconcile_lists_every_item_for_the_deletions(finance):
    config = books_config(finance, page_size=25)
    first = run_tap(config)
    org = finance.finance.orgs[BOOKS_ORG]
    ids = sorted(org.items)
    delete(finance, ids[5], ids[77])
    finance.finance.update_item(BOOKS_ORG, ids[9], {"rate": 1.5})
    before = len(finance.finance.queries)

    run = run_tap({**config, "items_reconcile_deletions": True}, state=first.state)

    (activation,) = activations(run)
    assert listed(run, activation["version"]) == set(org.items)
    assert {ids[5], ids[77]}.isdisjoint(listed(run, activation["version"]))
    listing_calls = len(item_calls(finance, before)) - 1  # the incremental pass: one call
    assert math.ceil(len(org.items) / 25) <= listing_calls <= math.ceil(len(org.items) / 25) + 1
    # The listing moves no bookmark: the next incremental run still reads only what changed.
    assert (
        run.state["bookmarks"][ITEMS]
        == run_tap(config, state=first.state).state["bookmarks"][ITEMS]
    )


def test_a_full_refresh_told_not_to_reconcile_claims_nothing(finance):
    run = run_tap(books_config(finance, items_reconcile_deletions=False))

    assert activations(run) == []
    assert versions(run) == {None}


def test_a_first_run_bounded_by_start_date_is_no_listing_unless_asked(finance):
    config = books_config(finance, start_date="2023-12-02T01:00:00Z")
    bounded = run_tap(config)
    assert activations(bounded) == []
    assert 0 < len(bounded.records[ITEMS]) < len(finance.finance.orgs[BOOKS_ORG].items)

    asked = run_tap({**config, "items_reconcile_deletions": True})

    (activation,) = activations(asked)
    assert listed(asked, activation["version"]) == set(finance.finance.orgs[BOOKS_ORG].items)


def test_active_only_lists_the_active_items_and_still_emits_the_inactive_ones(finance):
    config = books_config(finance, items_active_only=True)
    first = run_tap(config)
    org = finance.finance.orgs[BOOKS_ORG]
    (activation,) = activations(first)
    assert listed(first, activation["version"]) == set(org.items)  # active + deactivations pass

    active = sorted(i for i, r in org.items.items() if r["status"] == "active")
    delete(finance, active[0])
    finance.finance.update_item(BOOKS_ORG, active[1], {"status": "inactive"})
    before = len(finance.finance.queries)
    run = run_tap({**config, "items_reconcile_deletions": True}, state=first.state)

    (activation,) = activations(run)
    stamped = listed(run, activation["version"])
    assert stamped == {i for i, r in org.items.items() if r["status"] == "active"} | {active[1]}
    filters = {q["filter_by"] for q in item_calls(finance, before) if "last_modified_time" not in q}
    assert filters == {"Status.Active"}  # the listing pass reads active items only


def test_one_failing_organisation_means_no_claim_and_the_next_run_lists_again(finance):
    config = finance.tap_config(
        crm_enabled=False, books_organization_id=[BOOKS_ORG, SECOND_ORG], max_retries=1
    )
    first = _fail_second_org(finance, config)

    assert activations(first) == []
    partitions = first.state["bookmarks"][ITEMS]["partitions"]
    assert all(p.get("reconcile_pending") for p in partitions)

    second = run_tap(config, state=first.state)  # incremental, auto: the pending flag decides

    (activation,) = activations(second)
    every = set(finance.finance.orgs[BOOKS_ORG].items) | set(finance.finance.orgs[SECOND_ORG].items)
    assert listed(second, activation["version"]) == every
    assert "reconcile_pending" not in json.dumps(second.state)


def _fail_second_org(finance, config):
    """A run where the second organisation's items fail (500s past the retries)."""
    calls = {"n": 0}
    original = finance.finance.serve

    def serve(method, path, query, headers, access):
        if path == "/books/v3/items" and query.get("organization_id") == SECOND_ORG:
            calls["n"] += 1
            if calls["n"] > 1:
                return 500, {"code": 1000, "message": "Internal error"}, {}, "error"
        return original(method, path, query, headers, access)

    finance.finance.serve = serve
    try:
        return run_tap({**config, "page_size": 50})
    finally:
        finance.finance.serve = original


def test_a_listing_that_gives_up_on_a_changing_second_claims_nothing(finance, monkeypatch):
    # Every item updated in one second, read 50 a page. Before page 2, the whole first page is
    # edited again: every later row moves back a whole page, so no page can be joined to the one
    # before and the second must be read again; with one pass allowed, the read stops inside that
    # second, so the items after it were never listed and must not be retired.
    monkeypatch.setattr("tap_zoho.keyset.MAX_TIE_PASSES", 1)
    org = finance.finance.orgs[BOOKS_ORG]
    finance.store.clock.pin()
    for n, iid in enumerate(sorted(org.items)):
        finance.finance.update_item(BOOKS_ORG, iid, {"rate": 100 + n})
    finance.store.clock.unpin()
    first_page = sorted(org.items, key=lambda iid: (org.modified[iid], iid))[:50]
    finance.on_path_call("/books/v3/items", 2, lambda: _edit(finance, first_page))

    run = run_tap(books_config(finance, page_size=50))

    assert activations(run) == []
    partitions = run.state["bookmarks"][ITEMS]["partitions"]
    assert all(p.get("reconcile_pending") for p in partitions)


def _edit(sandbox, ids):
    for iid in ids:
        sandbox.finance.update_item(BOOKS_ORG, iid, {"rate": 999})
