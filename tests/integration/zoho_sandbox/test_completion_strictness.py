"""The sandbox serves the routes that complete what lists leave out as contract 3.3 describes them:
the Subform API, linking modules equal to the parents' multi lookups through every edit, Bulk Read
of both, the Rich Text API, each call kind with its credits, and both readings of what 3.3 leaves
unconfirmed."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
import requests

from tests.support.sandbox_api import mint
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import completion_specs

LEADS_SUBFORM = "Subform_1"
LEADS_CONTACTS = "Multiselectlookup_2"
LEADS_USERS = "Multiuserlookup_3"
BULK = "/crm/bulk/v8/read"
SUBFORM_FIELDS = "Item,Qty,Unit_Price,Parent_Id,Created_Time,Modified_Time"


def start(limits: Limits | None = None, bulk: BulkOptions | None = None, leads: int = 60):
    sandbox = Sandbox(specs=completion_specs(leads, 12), limits=limits, bulk=bulk)
    sandbox.start()
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {mint(sandbox).json()['access_token']}"
    return sandbox, session


@pytest.fixture
def api():
    sandbox, session = start(bulk=BulkOptions(delay_seconds=0))
    yield sandbox, session
    sandbox.stop()


def get(api, path, headers=None, **params):
    sandbox, session = api
    return session.get(
        f"{sandbox.base_url}/crm/v8/{path}", params=params, headers=headers or {}, timeout=10
    )


def listed(api, module, fields, **params):
    """Every row of a list, following pages and tokens."""
    rows, page, token = [], 1, None
    while True:
        query = {"fields": fields, "per_page": api[0].limits.max_per_page, **params}
        if token:
            query["page_token"] = token
        elif page > 1:
            query["page"] = page
        response = get(api, module, **query)
        if response.status_code == 204:
            return rows
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        if not body["info"]["more_records"]:
            return rows
        page, token = page + 1, body["info"]["next_page_token"]


def parents_rows(sandbox, parent, field):
    """Every row the parents' single-record reads hold, by row id."""
    out = {}
    for rid, record in sandbox.records(parent).items():
        response_rows = record[field]
        for row in response_rows:
            out[row["id"]] = (rid, row)
    return out


def strip(row):
    return {k: v for k, v in row.items() if not k.startswith("$")}


def test_a_subform_module_is_reachable_by_name_and_listed_only_when_asked(api):
    names = {m["api_name"] for m in get(api, "settings/modules").json()["modules"]}
    assert "Lead_Items" not in names
    assert "Leads_X_Contacts" in names
    assert "Leads_X_Users" in names  # the simulator lists the multi-user one (unconfirmed)
    one = get(api, "settings/modules/Lead_Items").json()["modules"][0]
    assert one["generated_type"] == "subform"
    assert one["parent_module"]["api_name"] == "Leads"
    fields = {
        f["api_name"]: f for f in get(api, "settings/fields", module="Lead_Items").json()["fields"]
    }
    assert fields["Parent_Id"]["data_type"] == "lookup"
    assert "id" not in fields

    sandbox, session = start(Limits(list_subform_modules=True, list_multiuser_linking=False))
    try:
        other = (sandbox, session)
        modules = {m["api_name"]: m for m in get(other, "settings/modules").json()["modules"]}
        assert modules["Lead_Items"]["generated_type"] == "subform"
        assert modules["Quoted_Items"]["parent_module"]["api_name"] == "Quotes"
        assert "Leads_X_Users" not in modules
        assert "Leads_X_Contacts" in modules
    finally:
        sandbox.stop()


def test_the_parent_field_metadata_names_each_module(api):
    fields = {
        f["api_name"]: f for f in get(api, "settings/fields", module="Leads").json()["fields"]
    }
    assert fields[LEADS_SUBFORM]["associated_module"]["module"] == "Lead_Items"
    link = fields[LEADS_CONTACTS]["multiselectlookup"]
    assert link["linking_module"]["api_name"] == "Leads_X_Contacts"
    assert (link["lookup_apiname"], link["connectedfield_apiname"]) == (
        "Contacts_Link",
        "Leads_Link",
    )
    users = fields[LEADS_USERS]["multiuserlookup"]
    assert users["linking_module"]["api_name"] == "Leads_X_Users"
    quotes = {
        f["api_name"]: f for f in get(api, "settings/fields", module="Quotes").json()["fields"]
    }
    assert quotes["Quoted_Items"]["associated_module"]["module"] == "Quoted_Items"


def test_the_subform_list_refuses_missing_too_many_and_unknown_fields(api):
    assert get(api, "Lead_Items").json()["code"] == "REQUIRED_PARAM_MISSING"
    many = ",".join(["Item"] * 51)
    assert get(api, "Lead_Items", fields=many).json()["code"] == "LIMIT_EXCEEDED"
    assert get(api, "Lead_Items", fields="Item,Nope").json()["code"] == "INVALID_DATA"


def test_the_subform_list_holds_exactly_the_rows_of_the_parents_single_record_reads(api):
    sandbox, _ = api
    rows = listed(api, "Lead_Items", SUBFORM_FIELDS)
    expected = parents_rows(sandbox, "Leads", LEADS_SUBFORM)

    assert [r["id"] for r in rows] == sorted(expected, key=int)  # ascending id
    for row in rows:
        parent, whole = expected[row["id"]]
        assert strip(row) == whole
        assert row["Parent_Id"]["id"] == parent
        detail = get(api, f"Leads/{parent}").json()["data"][0]
        assert whole in detail[LEADS_SUBFORM]
    # Converted and unapproved parents' rows are listed too (stricter reading).
    module = sandbox.store.modules["Leads"]
    hidden = {
        rid for rid in module.records if not module.listed(rid, converted="false", approved="true")
    }
    assert hidden & {parent for parent, _ in expected.values()}


def test_the_subform_list_ignores_if_modified_since_sort_and_ids_and_never_answers_304(api):
    sandbox, _ = api
    everything = [r["id"] for r in listed(api, "Lead_Items", SUBFORM_FIELDS)]
    future = {"If-Modified-Since": "2099-01-01T00:00:00+00:00"}
    response = get(api, "Lead_Items", headers=future, fields="Item")
    assert response.status_code == 200
    assert [r["id"] for r in listed(api, "Lead_Items", "Item", sort_order="desc")] == everything
    assert [r["id"] for r in listed(api, "Lead_Items", "Item", ids=everything[0])] == everything
    assert sandbox.stats.requests["crm_subform_list"] >= 3
    assert sandbox.stats.requests["records"] == 0


def test_the_other_reading_honours_if_modified_since_and_hides_like_get_records():
    sandbox, session = start(Limits(subform_list_filters=True))
    try:
        api = (sandbox, session)
        future = {"If-Modified-Since": "2099-01-01T00:00:00+00:00"}
        assert get(api, "Lead_Items", headers=future, fields="Item").status_code == 304
        default = listed(api, "Lead_Items", "Item")
        both = listed(api, "Lead_Items", "Item", converted="both", approved="both")
        assert len(default) < len(both) == len(parents_rows(sandbox, "Leads", LEADS_SUBFORM))
    finally:
        sandbox.stop()


def test_subform_pages_follow_get_records_or_stop_without_tokens():
    sandbox, session = start(Limits(discrete_cap=20, max_per_page=10), leads=60)
    try:
        api = (sandbox, session)
        rows = listed(api, "Lead_Items", "Item")
        assert len(rows) == len(parents_rows(sandbox, "Leads", LEADS_SUBFORM)) > 20
        sandbox.limits.subform_page_tokens = False
        second = get(api, "Lead_Items", fields="Item", per_page=10, page=2).json()
        assert second["info"]["more_records"] is True
        assert second["info"]["next_page_token"] is None
        assert get(api, "Lead_Items", fields="Item", per_page=10, page=3).json()["code"] == (
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
        )
    finally:
        sandbox.stop()


def test_linking_modules_hold_exactly_the_parents_links(api):
    sandbox, _ = api
    for module, field, lookup, connected in (
        ("Leads_X_Contacts", LEADS_CONTACTS, "Contacts_Link", "Leads_Link"),
        ("Leads_X_Users", LEADS_USERS, "Users_Field", "Leads_Field"),
    ):
        rows = listed(
            api, module, f"{connected},{lookup}", sort_by="id", converted="both", approved="both"
        )
        expected = parents_rows(sandbox, "Leads", field)
        assert {r["id"] for r in rows} == set(expected)
        for row in rows:
            parent, element = expected[row["id"]]
            assert row[connected]["id"] == parent
            assert {lookup: row[lookup], "id": row["id"]} == element
            assert "Modified_Time" not in row
    assert sandbox.stats.requests["crm_linking_list"] >= 2


def test_every_edit_keeps_subform_and_linking_modules_equal_to_the_parents(api):
    sandbox, _ = api
    leads = sorted(sandbox.records("Leads"), key=int)
    kept = sandbox.records("Leads")[leads[1]][LEADS_SUBFORM]
    new_rows = [
        {**kept[0], "Qty": 99} if kept else {"Item": "x", "Qty": 99, "Unit_Price": 1.0},
        {"Item": "new", "Qty": 1, "Unit_Price": 2.5},
    ]
    sandbox.update(
        "Leads",
        leads[1],
        {
            LEADS_SUBFORM: new_rows,
            LEADS_CONTACTS: [{"Contacts_Link": {"name": "Zed", "id": "5843104000000709999"}}],
            LEADS_USERS: [],
        },
    )
    sandbox.delete("Leads", leads[2])
    created = sandbox.create(
        "Leads", {"Last_Name": "Late", LEADS_SUBFORM: [{"Item": "a", "Qty": 2, "Unit_Price": 3.0}]}
    )

    for module, field in (
        ("Lead_Items", LEADS_SUBFORM),
        ("Leads_X_Contacts", LEADS_CONTACTS),
        ("Leads_X_Users", LEADS_USERS),
    ):
        fields = SUBFORM_FIELDS if module == "Lead_Items" else "Created_Time"
        got = {r["id"] for r in listed(api, module, fields, converted="both", approved="both")}
        assert got == set(parents_rows(sandbox, "Leads", field)), module
    edited = sandbox.records("Leads")[leads[1]]
    assert [r["Qty"] for r in edited[LEADS_SUBFORM]] == [99, 1]
    if kept:
        assert edited[LEADS_SUBFORM][0]["id"] == kept[0]["id"]  # a kept row keeps its id
    assert edited[LEADS_USERS] == []
    assert sandbox.records("Leads")[created][LEADS_CONTACTS] == []
    assert not any(p == leads[2] for p, _ in parents_rows(sandbox, "Leads", LEADS_SUBFORM).values())


def test_an_unmodelled_subform_module_does_not_list():
    sandbox = Sandbox()  # Deals' subform module Deal_Items is not one the simulator models
    sandbox.start()
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {mint(sandbox).json()['access_token']}"
        response = get((sandbox, session), "Deal_Items", fields="Item")
        assert (response.status_code, response.json()["code"]) == (400, "INVALID_MODULE")
    finally:
        sandbox.stop()


def test_the_rich_text_api_returns_rich_text_whole_and_refuses_other_fields(api):
    sandbox, _ = api
    leads = sandbox.records("Leads")
    rid, record = next((r, v) for r, v in leads.items() if len(v["Richtext_4"] or "") > 500)

    whole = get(api, f"Leads/{rid}/actions/fetch_full_data", fields="Richtext_4")
    assert whole.json() == {"data": [{"id": rid, "Richtext_4": record["Richtext_4"]}]}
    assert get(api, f"Leads/{rid}/actions/fetch_full_data").json()["data"][0]["Richtext_4"]
    refused = get(api, f"Leads/{rid}/actions/fetch_full_data", fields="Last_Name")
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_DATA")
    unknown = get(api, "Leads/5843104999999999999/actions/fetch_full_data")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "INVALID_DATA")
    assert sandbox.stats.requests["crm_rich_text"] == 2
    listed_value = get(api, "Leads", fields="Richtext_4", ids=rid).json()["data"][0]["Richtext_4"]
    assert len(listed_value) == 500

    sandbox.limits.rich_text_api = False
    assert get(api, f"Leads/{rid}/actions/fetch_full_data").status_code == 404


def export(api, query):
    sandbox, session = api
    job = session.post(f"{sandbox.base_url}{BULK}", json={"query": query}, timeout=10)
    assert job.status_code == 201, job.text
    job_id = job.json()["data"][0]["details"]["id"]
    time.sleep(0.05)
    state = session.get(f"{sandbox.base_url}{BULK}/{job_id}", timeout=10).json()["data"][0]
    assert state["state"] == "COMPLETED"
    body = session.get(f"{sandbox.base_url}{BULK}/{job_id}/result", timeout=10).content
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        text = archive.read(f"{job_id}.csv").decode()
    return list(csv.reader(io.StringIO(text, newline="")))


def test_bulk_read_exports_a_subform_module_and_a_linking_module(api):
    sandbox, session = api
    rows = export(
        api, {"module": {"api_name": "Lead_Items"}, "fields": ["id", "Item", "Parent_Id"]}
    )
    expected = parents_rows(sandbox, "Leads", LEADS_SUBFORM)
    assert rows[0] == ["Id", "Item", "Parent_Id"]
    assert {r[0]: r[2] for r in rows[1:]} == {rid: parent for rid, (parent, _) in expected.items()}

    links = export(
        api,
        {
            "module": {"api_name": "Leads_X_Contacts"},
            "fields": ["id", "Leads_Link", "Contacts_Link"],
        },
    )
    contacts = parents_rows(sandbox, "Leads", LEADS_CONTACTS)
    assert {r[0]: (r[1], r[2]) for r in links[1:]} == {
        rid: (parent, e["Contacts_Link"]["id"]) for rid, (parent, e) in contacts.items()
    }
    refused = session.post(
        f"{sandbox.base_url}{BULK}",
        json={"query": {"module": {"api_name": "Quoted_Items"}, "fields": ["id", "Line_Tax"]}},
        timeout=10,
    )
    assert refused.json()["code"] == "FIELD_NOT_SUPPORTED"
    whole = export(api, {"module": {"api_name": "Quoted_Items"}})
    assert "Line_Tax" not in whole[0]
    assert "Parent_Id" in whole[0]


def test_the_other_column_reading_heads_lookups_with_dot_id():
    sandbox, session = start(bulk=BulkOptions(delay_seconds=0, dotted_lookups=True))
    try:
        rows = export(
            (sandbox, session),
            {"module": {"api_name": "Lead_Items"}, "fields": ["id", "Parent_Id"]},
        )
        assert rows[0] == ["Id", "Parent_Id.id"]
    finally:
        sandbox.stop()


def test_an_export_of_a_hidden_reading_leaves_out_rows_of_converted_parents():
    sandbox, session = start(bulk=BulkOptions(delay_seconds=0, hide_converted=True))
    try:
        rows = export(
            (sandbox, session),
            {"module": {"api_name": "Lead_Items"}, "fields": ["id", "Parent_Id"]},
        )
        module = sandbox.store.modules["Leads"]
        visible = {
            r for r in module.records if module.listed(r, converted="false", approved="true")
        }
        assert {r[1] for r in rows[1:]} <= visible
        assert len(rows) - 1 < len(parents_rows(sandbox, "Leads", LEADS_SUBFORM))
    finally:
        sandbox.stop()


def test_each_route_is_charged_one_credit_a_call_under_its_own_kind(api):
    sandbox, _ = api
    before = sandbox.stats.credits
    get(api, "Lead_Items", fields="Item")
    get(api, "Leads_X_Contacts", fields="Leads_Link")
    rid = next(iter(sandbox.records("Leads")))
    get(api, f"Leads/{rid}/actions/fetch_full_data")
    assert sandbox.stats.credits - before == 3
    for kind in ("crm_subform_list", "crm_linking_list", "crm_rich_text"):
        assert sandbox.stats.requests[kind] == 1
