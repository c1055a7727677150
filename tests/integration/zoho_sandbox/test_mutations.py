"""The soak's edits do what Zoho users do, and its read hooks fire at the moments that matter."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
import requests

from tests.support.sandbox_api import SandboxApi, mint
from tests.zoho_sandbox import BOOKS_ORG, Sandbox
from tests.zoho_sandbox import mutations as mut
from tests.zoho_sandbox.read_hooks import ReadHooks
from tests.zoho_sandbox.seed import LEADS_STANDARD, ModuleSpec
from tests.zoho_sandbox.store import epoch_of


@pytest.fixture
def api_sandbox() -> Sandbox:
    specs = [
        ModuleSpec("Leads", 450, LEADS_STANDARD, [], unapproved_every=40),
        ModuleSpec("Deals", 5, [("Deal_Name", "text")], []),
    ]
    return Sandbox(specs=specs)


@pytest.fixture
def hooks(api_sandbox: Sandbox) -> ReadHooks:
    """The soak's read hooks, installed on the sandbox before ``api`` starts it."""
    return ReadHooks(api_sandbox)


def leads_page(
    sandbox: Sandbox, session: requests.Session, page: int, since: str | None = None
) -> list[dict[str, Any]]:
    headers = {"If-Modified-Since": since} if since else {}
    params: dict[str, str | int] = {
        "fields": "Company,Modified_Time",
        "sort_by": "Modified_Time",
        "sort_order": "asc",
        "page": page,
        "converted": "both",
        "approved": "both",
    }
    answer = session.get(
        f"{sandbox.base_url}/crm/v8/Leads", params=params, headers=headers, timeout=10
    )
    assert answer.status_code == 200
    return list(answer.json()["data"])


def test_a_mass_update_stamps_every_record_with_one_second(api: SandboxApi) -> None:
    sandbox = api.sandbox
    ids = sorted(sandbox.records("Leads"))[:300]
    epoch = mut.mass_update(sandbox, "Leads", ids, lambda rid: {"Company": f"Mass {rid}"})
    module = sandbox.store.modules["Leads"]
    assert {module.modified[rid] for rid in ids} == {epoch}
    assert all(module.records[rid]["Company"] == f"Mass {rid}" for rid in ids)


def test_an_edit_shares_the_previous_edits_second_only_while_the_clock_is_still_on_it(
    api: SandboxApi,
) -> None:
    sandbox = api.sandbox
    first, second = sorted(sandbox.records("Leads"))[:2]
    with mut.one_second(sandbox):
        sandbox.update("Leads", first, {"Company": "one"})
        stamp = sandbox.store.modules["Leads"].modified[first]
        assert mut.edit_within_second(sandbox, "Leads", first, {"Company": "two"})
    assert sandbox.store.modules["Leads"].modified[first] == stamp
    assert sandbox.records("Leads")[first]["Company"] == "two"
    sandbox.update("Leads", second, {"Company": "later"})  # the clock moves on
    assert not mut.edit_within_second(sandbox, "Leads", first, {"Company": "three"})
    assert sandbox.records("Leads")[first]["Company"] == "two"


def test_converted_and_pending_records_are_hidden_by_default_lists_but_kept(
    api: SandboxApi,
) -> None:
    sandbox, session = api
    lead = sorted(sandbox.records("Leads"))[5]
    deal = mut.convert_lead(sandbox, lead, {"Deal_Name": "from conversion"})
    assert sandbox.records("Deals")[deal]["Deal_Name"] == "from conversion"
    assert sandbox.records("Leads")[lead]["Converted__s"] is True
    pending = sorted(sandbox.records("Leads"))[6]
    mut.set_approval(sandbox, "Leads", pending, pending=True, changes={"Company": "x"})
    assert mut.is_pending_approval(sandbox, "Leads", pending)
    default = session.get(
        f"{sandbox.base_url}/crm/v8/Leads",
        params={"fields": "Company", "per_page": "200"},
        timeout=10,
    ).json()["data"]
    ids = {r["id"] for r in default}
    assert lead not in ids
    assert pending not in ids
    mut.set_approval(sandbox, "Leads", pending, pending=False, changes={"Company": "y"})
    assert not mut.is_pending_approval(sandbox, "Leads", pending)


def test_re_editing_served_records_before_the_next_page_shifts_the_rest_back(
    hooks: ReadHooks, api: SandboxApi
) -> None:
    """The hole of issue 9.1: a position-paged reader of one second misses shifted records."""
    sandbox, session = api
    ids = sorted(sandbox.records("Leads"), key=int)[:300]
    epoch = mut.mass_update(sandbox, "Leads", ids, lambda rid: {"Company": "mass"})
    since = sandbox.store.dt(epoch - 1)
    served_seen: list[list[str]] = []

    def shift(module: str, served: list[str]) -> None:
        served_seen.append(served)
        for rid in served[:10]:
            sandbox.update(module, rid, {"Company": "moved"})

    hooks.before_next_page("crm", shift)
    first = leads_page(sandbox, session, 1, since)
    second = leads_page(sandbox, session, 2, since)
    assert served_seen == [[r["id"] for r in first]]
    read = {r["id"] for r in first + second}
    unchanged_but_unread = {rid for rid in ids if rid not in read}
    assert len(unchanged_but_unread) == 10  # shifted past the page boundary, never returned
    hooks.before_next_page("crm", shift)
    hooks.clear("crm")  # a cleared hook no longer fires
    leads_page(sandbox, session, 2, since)
    assert len(served_seen) == 1


def test_after_read_fires_once_a_list_answer_carries_the_record(
    hooks: ReadHooks, api: SandboxApi
) -> None:
    sandbox, session = api
    ids = sorted(sandbox.records("Leads"), key=int)
    event = hooks.after_read("crm", ids[-1])
    leads_page(sandbox, session, 1)
    assert not event.is_set()  # the newest record is not on the oldest page
    leads_page(sandbox, session, 3)
    assert event.is_set()


def test_books_item_deletion_and_price_list_edits() -> None:
    sandbox = Sandbox(specs=[])
    org = sandbox.finance.orgs[BOOKS_ORG]
    book_id, book = next(
        (b, v) for b, v in org.pricebooks.items() if v["pricebook_type"] == "per_item"
    )
    priced = book["pricebook_items"][0]["item_id"]
    mut.delete_item(sandbox, BOOKS_ORG, priced)
    assert priced not in org.items
    assert priced not in {
        e["item_id"] for b in org.pricebooks.values() for e in b["pricebook_items"]
    }
    other = sorted(org.items)[0]
    mut.set_pricebook_rate(sandbox, BOOKS_ORG, book_id, other, 12.5)
    assert {"item_id": other, "pricebook_rate": 12.5} in [
        {k: e[k] for k in ("item_id", "pricebook_rate")} for e in book["pricebook_items"]
    ]
    ids = mut.import_items(sandbox, BOOKS_ORG, [{"name": f"n{n}", "rate": 1.0} for n in range(3)])
    assert len({org.modified[i] for i in ids}) == 1


def test_books_calls_are_delayed_and_hooked() -> None:
    sandbox = Sandbox(specs=[])
    hooks = ReadHooks(sandbox, books_delay=0.2)
    sandbox.start()
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {mint(sandbox).json()['access_token']}"
        org = sandbox.finance.orgs[BOOKS_ORG]
        mut.import_items(sandbox, BOOKS_ORG, [{"name": f"n{n}", "rate": 1.0} for n in range(250)])
        seen: list[list[str]] = []
        hooks.before_next_page("books", lambda kind, served: seen.append(served))
        read = hooks.after_read("books", sorted(org.items)[0])
        params: dict[str, str | int] = {
            "organization_id": BOOKS_ORG,
            "filter_by": "Status.All",
            "sort_column": "last_modified_time",
            "sort_order": "A",
        }
        first = session.get(f"{sandbox.base_url}/books/v3/items", params=params, timeout=10)
        assert first.elapsed.total_seconds() >= 0.2
        session.get(f"{sandbox.base_url}/books/v3/items", params={**params, "page": 2}, timeout=10)
        assert seen == [[r["item_id"] for r in first.json()["items"]]]
        assert read.is_set()
    finally:
        sandbox.stop()


def test_a_page_is_one_snapshot_while_edits_race_the_read(api: SandboxApi) -> None:
    """Rows are chosen and rendered under one lock: a page never shows an edit made after its
    rows were chosen (a newer Modified_Time before older ones, which a tap must refuse)."""
    sandbox = api.sandbox
    ids = sorted(sandbox.records("Leads"))
    stop = threading.Event()

    def edit() -> None:
        rng = random.Random(1)
        while not stop.is_set():
            sandbox.update("Leads", rng.choice(ids), {"Company": "x"})

    editor = threading.Thread(target=edit)
    editor.start()
    query = {"fields": "Company,Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"}
    try:
        for n in range(200):
            _, body = sandbox.crm.records("Leads", {**query, "page": str(1 + n % 2)}, {})
            times = [epoch_of(r["Modified_Time"]) for r in body["data"]]
            assert times == sorted(times)
    finally:
        stop.set()
        editor.join()
