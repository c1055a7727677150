"""The sandbox is at least as strict as Zoho (shared/zoho-api.md section 9)."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from tests.support.sandbox_api import mint
from tests.zoho_sandbox import CLIENT_ID, Limits, Sandbox
from tests.zoho_sandbox.seed import ModuleSpec


@pytest.fixture
def api_sandbox():
    return Sandbox(
        specs=[
            ModuleSpec("Leads", 450, [("Last_Name", "text")], ["currency"] * 55, tie_group=0),
            ModuleSpec("Empty_X", 0, [("Name", "text")], []),
        ],
        limits=Limits(discrete_cap=200, token_cap=400),
    )


def get(api, path, **params):
    sandbox, session = api
    headers = params.pop("headers", {})
    return session.get(
        f"{sandbox.base_url}/crm/v8/{path}", params=params, headers=headers, timeout=5
    )


def code(response):
    return response.json()["code"]


def test_fields_is_required_and_capped_at_fifty(api):
    assert code(get(api, "Leads")) == "REQUIRED_PARAM_MISSING"
    many = ",".join(f"Currency_{i}" for i in range(2, 53))
    assert code(get(api, "Leads", fields=many)) == "LIMIT_EXCEEDED"
    assert get(api, "Leads", fields="Last_Name").status_code == 200


def test_per_page_is_capped_at_two_hundred(api):
    assert code(get(api, "Leads", fields="Last_Name", per_page=201)) == "INVALID_DATA"


def test_page_positions_past_the_cap_need_a_token(api):
    assert get(api, "Leads", fields="Last_Name", page=1).status_code == 200
    response = get(api, "Leads", fields="Last_Name", page=2)
    assert response.status_code == 400
    assert code(response) == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


def test_page_tokens_are_bound_to_their_parameters_and_capped(api):
    first = get(api, "Leads", fields="Last_Name").json()
    token = first["info"]["next_page_token"]
    assert (
        code(get(api, "Leads", fields="Currency_1", page_token=token))
        == "TOKEN_BOUND_DATA_MISMATCH"
    )
    assert (
        code(get(api, "Leads", fields="Last_Name", page_token=token, page=2))
        == "AMBIGUITY_DURING_PROCESSING"
    )
    second = get(api, "Leads", fields="Last_Name", page_token=token).json()
    third = get(api, "Leads", fields="Last_Name", page_token=second["info"]["next_page_token"])
    assert code(third) == "PAGINATION_LIMIT_EXCEEDED"


def test_page_tokens_expire(api):
    sandbox, _ = api
    sandbox.limits.token_ttl_seconds = 0
    token = get(api, "Leads", fields="Last_Name").json()["info"]["next_page_token"]
    time.sleep(0.01)
    assert code(get(api, "Leads", fields="Last_Name", page_token=token)) == "EXPIRED_VALUE"


def test_sort_order_and_if_modified_since_with_304(api):
    sandbox, _ = api
    body = get(
        api, "Leads", fields="Modified_Time", sort_by="Modified_Time", sort_order="asc"
    ).json()
    times = [r["Modified_Time"] for r in body["data"]]
    assert times[0] < times[-1]
    assert code(get(api, "Leads", fields="Last_Name", sort_by="Last_Name")) == "INVALID_DATA"
    newest = sandbox.store.dt(max(sandbox.store.modules["Leads"].modified.values()))
    unchanged = get(api, "Leads", fields="Last_Name", headers={"If-Modified-Since": newest})
    assert unchanged.status_code == 304
    assert unchanged.content == b""


def test_an_empty_module_answers_204_without_a_body(api):
    response = get(api, "Empty_X", fields="Name")
    assert response.status_code == 204
    assert response.content == b""


def test_every_call_needs_a_valid_token_with_the_right_scope(api):
    sandbox, _ = api
    url = f"{sandbox.base_url}/crm/v8/Leads?fields=Last_Name"
    assert requests.get(url, timeout=5).json()["code"] == "AUTHENTICATION_FAILURE"
    bad = requests.get(url, headers={"Authorization": "Zoho-oauthtoken nope"}, timeout=5)
    assert (bad.status_code, bad.json()["code"]) == (401, "INVALID_TOKEN")
    narrow = sandbox.accounts.issue_refresh_token(CLIENT_ID, "ZohoCRM.settings.READ")
    token = mint(sandbox, refresh_token=narrow).json()["access_token"]
    scoped = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert scoped.json()["code"] == "OAUTH_SCOPE_MISMATCH"


def test_the_token_endpoint_throttles_and_caps_active_tokens(api):
    sandbox, _ = api
    tokens = [mint(sandbox).json()["access_token"] for _ in range(9)]  # 10 with the fixture's
    assert mint(sandbox).json()["error"] == "Access Denied"
    assert all(sandbox.accounts.check(t) for t in tokens)
    sandbox.accounts.mints_per_window = 100
    more = [mint(sandbox).json()["access_token"] for _ in range(15)]
    assert sandbox.accounts.check(tokens[0]) is None  # the oldest beyond 15 were invalidated
    assert sandbox.accounts.check(more[-1])


def test_token_errors_come_as_error_bodies(api):
    sandbox, _ = api
    assert mint(sandbox, client_id="1000.UNKNOWN").json() == {"error": "invalid_client"}
    assert mint(sandbox, client_secret="x").json() == {"error": "invalid_client_secret"}
    assert mint(sandbox, refresh_token="1000.x.y").json() == {"error": "invalid_code"}


def test_deleted_records_are_listed_and_204_when_none(api):
    sandbox, _ = api
    assert get(api, "Empty_X/deleted").status_code == 204
    rid = sorted(sandbox.records("Leads"))[0]
    sandbox.delete("Leads", rid, permanent=True)
    body = get(api, "Leads/deleted", type="permanent").json()
    assert [e["id"] for e in body["data"]] == [rid]
    assert body["data"][0]["display_name"] is None
    assert code(get(api, "Leads/deleted", type="bogus")) == "PATTERN_NOT_MATCHED"


def test_deleted_records_stop_at_the_position_cap_and_take_no_page_token(api):
    sandbox, _ = api
    for rid in sorted(sandbox.records("Leads"))[:250]:
        sandbox.delete("Leads", rid)
    second = get(api, "Leads/deleted", page=2, per_page=100).json()
    assert second["info"]["more_records"] is True
    assert "next_page_token" not in second["info"]  # 4.1: no page_token on /deleted
    assert code(get(api, "Leads/deleted", page=3, per_page=100)) == (
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    )
    assert code(get(api, "Leads/deleted", page_token="abc")) == "INVALID_DATA"


def test_deleted_records_page_by_token_in_the_reading_that_offers_one():
    spec = ModuleSpec("Leads", 300, [("Last_Name", "text")], [])
    sandbox = Sandbox(specs=[spec], limits=Limits(discrete_cap=200, deleted_page_tokens=True))
    sandbox.start()
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {mint(sandbox).json()['access_token']}"
        deleted = sorted(sandbox.records("Leads"))[:250]
        for rid in deleted:
            sandbox.delete("Leads", rid)
        api = (sandbox, session)
        seen, params = [], {"per_page": 100}
        while True:
            body = get(api, "Leads/deleted", **params).json()
            seen += [e["id"] for e in body["data"]]
            if not body["info"]["more_records"]:
                break
            params = {"per_page": 100, "page_token": body["info"]["next_page_token"]}
        token = params["page_token"]
        assert code(get(api, "Leads/deleted", page=2, page_token=token)) == (
            "AMBIGUITY_DURING_PROCESSING"
        )
        assert code(get(api, "Leads/deleted", type="recycle", page_token=token)) == (
            "TOKEN_BOUND_DATA_MISMATCH"
        )
    finally:
        sandbox.stop()
    assert len(seen) == len(set(seen)) > 250  # with the seeded recycle bin, each once
    assert set(deleted) <= set(seen)  # past the 200-position cap, by token


def test_field_metadata_rules(api):
    assert code(get(api, "settings/fields")) == "REQUIRED_PARAM_MISSING"
    assert code(get(api, "settings/fields", module="Nope")) == "INVALID_MODULE"
    fields = get(api, "settings/fields", module="Leads").json()["fields"]
    assert {f["data_type"] for f in fields} >= {"text", "currency", "datetime", "ownerlookup"}


def test_the_default_world_covers_every_data_type_and_the_awkward_modules():
    sandbox = Sandbox()
    modules = sandbox.store.modules
    leads = modules["Leads"]
    assert len(leads.records) > 2000
    assert len(leads.fields) > 50
    kinds = {f.data_type for f in leads.fields}
    assert kinds >= {
        "text",
        "textarea",
        "email",
        "phone",
        "website",
        "picklist",
        "multiselectpicklist",
        "integer",
        "bigint",
        "double",
        "decimal",
        "currency",
        "percent",
        "boolean",
        "date",
        "datetime",
        "lookup",
        "ownerlookup",
        "userlookup",
        "multiuserlookup",
        "multiselectlookup",
        "multi_module_lookup",
        "subform",
        "autonumber",
        "formula",
        "rollup_summary",
        "fileupload",
        "imageupload",
        "profileimage",
        "event_reminder",
        "ALARM",
        "RRULE",
        "multireminder",
        "consent_lookup",
        "linetax",
    }
    assert not modules["Forecasts"].permitted
    assert not modules["Visits"].api_supported
    assert modules["Projects_X"].generated_type == "custom"
    assert modules["Campaigns"].records == {}
    assert "+05:30" in next(iter(leads.records.values()))["Modified_Time"]


def test_every_sandbox_answer_carries_a_date_header_from_its_clock(sandbox):
    clock = sandbox.store.clock
    pinned = clock.pin()
    answer = requests.get(f"{sandbox.base_url}/crm/v8/Leads", timeout=5)
    token = requests.post(f"{sandbox.base_url}/oauth/v2/token", timeout=5)
    clock.unpin()
    later = requests.get(f"{sandbox.base_url}/crm/v8/Leads", timeout=5)

    for response in (answer, token):
        assert response.headers["Date"].endswith(" GMT")
        assert email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp() == pinned
    assert email.utils.parsedate_to_datetime(later.headers["Date"]).timestamp() > pinned
