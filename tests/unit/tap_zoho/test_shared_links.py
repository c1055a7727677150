"""One listing of a linking module for its stream and its parent's completion
(``tap_zoho.crm.completion.shared``)."""

from __future__ import annotations

import threading

import pytest
from tap_zoho.crm.completion.shared import SharedLinks, Wanted
from tap_zoho.errors import RouteRefused, ZohoApiError

WANTED = Wanted("Leads_X_Contacts", ("Leads_Link", "Contacts_Link"), "/crm/v8/Leads", True)
ROWS = [{"id": str(n), "Leads_Link": {"id": "1"}} for n in range(5)]


class Zoho:
    """Answers the linking module's pages (two rows a page) and the parent's probes."""

    def __init__(self, *, refuse=False, gate=None):
        self.calls: list[str] = []
        self.refuse = refuse
        self.gate = gate

    def __call__(self, path, params, headers):
        self.calls.append(path)
        if path == "/crm/v8/Leads":
            return {"data": [{"id": "1", "Modified_Time": "2024-01-01T00:00:00+00:00"}]}
        if self.gate is not None:
            self.gate.wait(5)
        if self.refuse:
            raise ZohoApiError("no", code="NO_PERMISSION", status=403)
        page = int(params.get("page", 1))
        rows = ROWS[(page - 1) * 2 : page * 2]
        return {"data": rows, "info": {"more_records": page * 2 < len(ROWS)}}


def links(wanted=WANTED):
    return SharedLinks(lambda: {wanted.module: wanted})


def test_the_first_side_lists_and_the_second_reads_the_same_rows_without_a_call():
    shared, zoho = links(), Zoho()

    first, calls = shared.listing("Leads_X_Contacts", zoho, 2, probe=True)
    second, none = shared.listing("Leads_X_Contacts", zoho, 2)

    assert first is second
    assert (calls, none) == (3, 0)
    assert zoho.calls.count("/crm/v8/Leads") == 2  # the stream's probes of the parent
    assert [row["id"] for page in second.pages(2) for row in page] == [r["id"] for r in ROWS]
    assert first.before == first.after
    first.release()
    second.release()
    shared.close()


def test_a_side_arriving_while_the_listing_runs_waits_for_it():
    gate, shared = threading.Event(), links()
    zoho = Zoho(gate=gate)
    owner = threading.Thread(target=shared.listing, args=("Leads_X_Contacts", zoho, 2))
    owner.start()
    while not zoho.calls:
        pass
    got: list = []
    waiter = threading.Thread(
        target=lambda: got.append(shared.listing("Leads_X_Contacts", Zoho(), 2))
    )
    waiter.start()
    gate.set()
    owner.join(5)
    waiter.join(5)

    entry, calls = got[0]
    assert calls == 0
    assert len([row for page in entry.pages(10) for row in page]) == len(ROWS)
    shared.close()


def test_a_failed_listing_serves_nobody_and_the_other_side_lists_alone():
    shared = links()
    with pytest.raises(RouteRefused) as refused:
        shared.listing("Leads_X_Contacts", Zoho(refuse=True), 2)
    assert refused.value.lasting

    assert shared.listing("Leads_X_Contacts", Zoho(), 2) == (None, 0)


def test_a_module_declined_by_the_completion_or_not_wanted_is_not_shared():
    shared = links()
    shared.decline(["Leads_X_Contacts"])

    assert shared.shares("Leads_X_Contacts") is None
    assert shared.listing("Leads_X_Users", Zoho(), 2) == (None, 0)
