"""The sandbox hides and truncates what Get Records hides and truncates (zoho-api.md 3.1, 3.2)."""

from __future__ import annotations

import pytest

from tests.support.sandbox_api import mint
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.crm_api import list_omitted, rich_text_fields
from tests.zoho_sandbox.text_cut import cut_rich_text


@pytest.fixture(scope="module")
def api_sandbox():
    """One default world for the module: these tests only read it."""
    return Sandbox(limits=Limits(detail_array_cap=2))


def listed_ids(api, module, **params):
    sandbox, session = api
    ids, token = [], None
    while True:
        query = {"fields": "Modified_Time", "per_page": 200, **params}
        if token:
            query["page_token"] = token
        response = session.get(f"{sandbox.base_url}/crm/v8/{module}", params=query, timeout=10)
        if response.status_code == 204:
            return ids
        body = response.json()
        ids += [r["id"] for r in body["data"]]
        if not body["info"]["more_records"]:
            return ids
        token = body["info"]["next_page_token"]


def test_converted_leads_are_hidden_unless_asked_for(api):
    sandbox, _ = api
    records = sandbox.records("Leads")
    converted = {rid for rid, r in records.items() if r["Converted__s"]}
    assert converted

    default = set(listed_ids(api, "Leads", approved="both"))
    only = set(listed_ids(api, "Leads", approved="both", converted="true"))
    both = set(listed_ids(api, "Leads", approved="both", converted="both"))

    assert default == set(records) - converted
    assert only == converted
    assert both == set(records)


def test_records_in_an_approval_process_are_hidden_unless_asked_for(api):
    sandbox, _ = api
    pending = sandbox.store.modules["Deals"].unapproved
    assert pending

    default = set(listed_ids(api, "Deals"))
    only = set(listed_ids(api, "Deals", approved="false"))
    both = set(listed_ids(api, "Deals", approved="both"))

    assert default == set(sandbox.records("Deals")) - pending
    assert only == pending
    assert both == set(sandbox.records("Deals"))


def test_ids_reads_obey_the_same_defaults(api):
    sandbox, _ = api
    pending = sorted(sandbox.store.modules["Deals"].unapproved)[:3]

    assert listed_ids(api, "Deals", ids=",".join(pending)) == []
    assert sorted(listed_ids(api, "Deals", ids=",".join(pending), approved="both")) == pending


def test_bad_visibility_values_are_refused(api):
    sandbox, session = api
    for param in ("converted", "approved"):
        response = session.get(
            f"{sandbox.base_url}/crm/v8/Leads",
            params={"fields": "Last_Name", param: "all"},
            timeout=10,
        )
        assert response.status_code == 400
        assert response.json()["details"]["param_name"] == param


def test_lists_leave_out_subforms_lookups_and_line_items_and_cut_rich_text(api):
    sandbox, session = api
    module = sandbox.store.modules["Quotes"]
    omitted, rich = list_omitted(module), rich_text_fields(module)
    assert omitted == {"Quoted_Items"}
    assert rich == {"Terms_and_Conditions"}
    assert list_omitted(sandbox.store.modules["Leads"]) == {
        f.api_name
        for f in sandbox.store.modules["Leads"].fields
        if f.data_type in {"subform", "multiselectlookup", "multiuserlookup"}
    }
    body = session.get(
        f"{sandbox.base_url}/crm/v8/Quotes",
        params={"fields": "Quoted_Items,Terms_and_Conditions", "approved": "both"},
        timeout=10,
    ).json()
    whole = sandbox.records("Quotes")
    assert all(r["Quoted_Items"] is None for r in body["data"])
    assert any(len(whole[r["id"]]["Terms_and_Conditions"] or "") > 500 for r in body["data"])
    for row in body["data"]:
        value = whole[row["id"]]["Terms_and_Conditions"]
        assert row["Terms_and_Conditions"] == (cut_rich_text(value, 500) if value else value)


def test_a_single_record_read_returns_every_value_whole_with_has_more(api):
    sandbox, session = api
    records = sandbox.records("Quotes")
    rid = next(r for r, v in records.items() if len(v["Quoted_Items"]) == 1)
    long = next(r for r, v in records.items() if len(v["Quoted_Items"]) > 2)

    body = session.get(f"{sandbox.base_url}/crm/v8/Quotes/{rid}", timeout=10).json()
    capped = session.get(
        f"{sandbox.base_url}/crm/v8/Quotes/{long}", params={"fields": "Quoted_Items"}, timeout=10
    ).json()["data"][0]

    record = body["data"][0]
    assert {k: v for k, v in record.items() if not k.startswith("$")} == records[rid]
    assert record["$has_more"] == {"Quoted_Items": False}
    assert capped["$has_more"] == {"Quoted_Items": True}
    assert capped["Quoted_Items"] == records[long]["Quoted_Items"][:2]
    gone = session.get(f"{sandbox.base_url}/crm/v8/Quotes/123", timeout=10)
    assert (gone.status_code, gone.json()["code"]) == (400, "INVALID_DATA")


def test_the_token_lifetime_can_be_shortened():
    sandbox = Sandbox(specs=[], token_ttl=5)
    sandbox.start()
    try:
        assert mint(sandbox).json()["expires_in"] == 5
    finally:
        sandbox.stop()
