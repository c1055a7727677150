"""The sandbox serves Bulk Read as strictly as the contract describes it (shared/zoho-api.md 4.4)."""

from __future__ import annotations

import csv
import io
import time
import zipfile

import pytest
import requests

from tests.support.sandbox_api import SandboxApi, mint
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import NOT_EXPORTABLE, BulkOptions
from tests.zoho_sandbox.seed import ALL_TYPES, LEADS_STANDARD, ModuleSpec

BULK = "/crm/bulk/v8/read"


def bulk_world(**options):
    """Seven Leads of every data type, Bulk Read jobs done at once (not started)."""
    spec = ModuleSpec("Leads", 7, LEADS_STANDARD, ALL_TYPES)
    return Sandbox(specs=[spec], bulk=BulkOptions(**{"delay_seconds": 0, **options}))


def bulk_sandbox(**options):
    """A started ``bulk_world`` and a signed-in session (stop the sandbox when done)."""
    sandbox = bulk_world(**options)
    sandbox.start()
    return SandboxApi.signed_in(sandbox)


@pytest.fixture
def api_sandbox():
    return bulk_world(page_size=3)


def create(api, query, **extra):
    sandbox, session = api
    return session.post(f"{sandbox.base_url}{BULK}", json={"query": query, **extra}, timeout=5)


def poll(api, job_id):
    sandbox, session = api
    return session.get(f"{sandbox.base_url}{BULK}/{job_id}", timeout=5)


def download(api, job_id):
    sandbox, session = api
    return session.get(f"{sandbox.base_url}{BULK}/{job_id}/result", timeout=5)


def rows_of(response):
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return name, text, list(csv.reader(io.StringIO(text, newline="")))


def job_id_of(response):
    assert response.status_code == 201, response.text
    details = response.json()["data"][0]["details"]
    assert details["state"] == "ADDED"
    return details["id"]


LEADS = {"api_name": "Leads"}


def kind_of(meta):
    """Formula and rollup fields take the form of their return type."""
    if meta.data_type in {"formula", "rollup_summary"}:
        return meta.extra[meta.data_type]["return_type"]
    return meta.data_type


def test_job_goes_through_its_states_and_the_result_is_not_ready_before(api):
    sandbox, _ = api
    sandbox.bulk.options.delay_seconds = 0.6
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id", "Last_Name"]}))
    first = poll(api, job).json()["data"][0]
    assert first["state"] in {"ADDED", "QUEUED"}
    assert "result" not in first
    assert download(api, job).json()["code"] == "RESOURCE_NOT_FOUND"
    seen = {first["state"]}
    while (state := poll(api, job).json()["data"][0]["state"]) != "COMPLETED":
        seen.add(state)
        time.sleep(0.05)
    assert {"QUEUED", "IN PROGRESS"} <= seen | {"QUEUED"}
    assert "IN PROGRESS" in seen


def test_unknown_job_is_resource_not_found(api):
    assert poll(api, "5843104000009999999").status_code == 404
    assert poll(api, "5843104000009999999").json()["code"] == "RESOURCE_NOT_FOUND"


def test_module_must_be_an_object_and_supported(api):
    assert create(api, {"module": "Leads"}).json()["code"] == "INVALID_DATA"
    assert create(api, {"module": {"api_name": "Nope"}}).json()["code"] == "INVALID_MODULE"
    response = create(api, {"module": {"api_name": "Notes"}})
    assert response.json()["code"] in {"INVALID_MODULE", "MODULE_NOT_SUPPORTED"}
    sandbox, _ = api
    sandbox.bulk.refused.add("Leads")
    assert create(api, {"module": LEADS}).json()["code"] == "MODULE_NOT_SUPPORTED"


@pytest.mark.parametrize(
    "data_type",
    ["subform", "multiselectlookup", "multiuserlookup", "imageupload", "linetax", "multireminder"],
)
def test_fields_bulk_read_cannot_export_are_refused_by_name(api, data_type):
    sandbox, _ = api
    name = next(
        f.api_name for f in sandbox.store.modules["Leads"].fields if f.data_type == data_type
    )
    response = create(api, {"module": LEADS, "fields": ["id", name]})
    assert response.status_code == 400
    assert response.json()["code"] == "FIELD_NOT_SUPPORTED"
    assert response.json()["details"]["api_name"] == name


def test_empty_body_criteria_page_and_callback_are_validated(api):
    sandbox, session = api
    empty = session.post(f"{sandbox.base_url}{BULK}", data=b"", timeout=5)
    assert empty.json()["code"] == "REQUEST_BODY_IS_EMPTY"
    bad_op = {
        "group_operator": "xor",
        "group": [{"field": {"api_name": "Last_Name"}, "comparator": "equal", "value": "x"}],
    }
    assert create(api, {"module": LEADS, "criteria": bad_op}).json()["code"] == (
        "GROUP_OPERATOR_NOT_SUPPORTED"
    )
    bad_cmp = {"field": {"api_name": "Last_Name"}, "comparator": "like", "value": "x"}
    assert create(api, {"module": LEADS, "criteria": bad_cmp}).json()["code"] == (
        "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED"
    )
    many = {
        "group_operator": "and",
        "group": [{"field": {"api_name": "Last_Name"}, "comparator": "equal", "value": "x"}] * 26,
    }
    assert create(api, {"module": LEADS, "criteria": many}).json()["code"] == (
        "CRITERIA_LIMIT_EXCEEDED"
    )
    assert create(api, {"module": LEADS, "page": 51}).json()["code"] == "PAGE_RANGE_EXCEEDED"
    callback = {"url": "ftp://x", "method": "post"}
    assert create(api, {"module": LEADS}, callback=callback).json()["code"] == (
        "INVALID_CALLBACK_URL"
    )


def test_pages_follow_next_page_token_until_the_last_page_has_none(api):
    sandbox, _ = api
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id", "Last_Name"]}))
    ids = []
    while True:
        details = poll(api, job).json()["data"][0]
        result = details["result"]
        _, _, rows = rows_of(download(api, job))
        assert rows[0] == ["Id", "Last_Name"]
        assert result["count"] == len(rows) - 1
        assert result["download_url"] == f"{BULK}/{job}/result"
        ids += [row[0] for row in rows[1:]]
        if not result["more_records"]:
            assert "next_page_token" not in result
            break
        job = job_id_of(create(api, {"page_token": result["next_page_token"]}))
    assert ids == sorted(sandbox.records("Leads"), key=int)


def test_zip_holds_job_csv_with_crlf_records_and_the_bulk_forms_of_values(api):
    sandbox, _ = api
    sandbox.bulk.options.page_size = 200_000
    module = sandbox.store.modules["Leads"]
    exportable = [f.api_name for f in module.fields if f.data_type not in NOT_EXPORTABLE]
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id", *exportable]}))
    response = download(api, job)
    assert response.headers["Content-Type"] in {"application/zip", "application/x-download"}
    name, text, rows = rows_of(response)
    assert name == f"{job}.csv"
    assert not text.startswith("\ufeff")
    assert "\r\n" in text
    header, *body = rows
    assert header == ["Id", *exportable]
    records = sandbox.records("Leads")
    by_type = {f.api_name: f for f in module.fields}
    for row in body:
        record = records[row[0]]
        cells = dict(zip(header, row, strict=True))
        for field_name, cell in cells.items():
            if field_name == "Id":
                continue
            meta, value = by_type[field_name], record[field_name]
            if value in (None, []):
                assert cell == "", field_name
            elif meta.data_type in {
                "lookup",
                "ownerlookup",
                "userlookup",
                "multi_module_lookup",
                "consent_lookup",
            }:
                assert cell == value["id"]
            elif meta.data_type == "boolean":
                assert cell == ("true" if value else "false")
            elif meta.data_type == "multiselectpicklist":
                assert cell == ",".join(value)
            elif meta.json_type == "jsonarray":
                assert cell == ",".join(t["name"] for t in value)
            elif meta.data_type in {"ALARM", "RRULE"}:
                assert cell == value[meta.data_type]
            elif kind_of(meta) in {"currency", "double", "decimal", "percent"}:
                assert cell == f"{value:.{meta.decimal_place}f}"
            else:
                assert cell == str(value), field_name
    textareas = [c for c in header if by_type.get(c) and by_type[c].data_type == "textarea"]
    assert any("\n" in row[header.index(textareas[0])] for row in body)


def test_without_fields_every_exportable_field_and_id_are_exported(api):
    sandbox, _ = api
    job = job_id_of(create(api, {"module": LEADS}))
    _, _, rows = rows_of(download(api, job))
    assert rows[0][0] == "Id"
    types = {f.api_name: f.data_type for f in sandbox.store.modules["Leads"].fields}
    assert "subform" not in {types[c] for c in rows[0][1:]}


def test_export_is_the_records_at_job_creation(api):
    sandbox, _ = api
    sandbox.bulk.options.page_size = 200_000
    sandbox.bulk.options.delay_seconds = 0.3
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id", "Last_Name"]}))
    rid = next(iter(sandbox.records("Leads")))
    sandbox.update("Leads", rid, {"Last_Name": "Changed later"})
    sandbox.create("Leads", {"Last_Name": "Created later"})
    time.sleep(0.35)
    _, _, rows = rows_of(download(api, job))
    assert len(rows) - 1 == 7
    assert "Changed later" not in {row[1] for row in rows}


def test_criteria_on_modified_time_filter_the_export(api):
    sandbox, _ = api
    sandbox.bulk.options.page_size = 200_000
    epochs = sorted(sandbox.store.modules["Leads"].modified.values())
    from datetime import UTC, datetime

    cut = datetime.fromtimestamp(epochs[3], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    criteria = {"field": {"api_name": "Modified_Time"}, "comparator": "greater_equal", "value": cut}
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id"], "criteria": criteria}))
    _, _, rows = rows_of(download(api, job))
    assert len(rows) - 1 == 4


def test_downloads_are_throttled_to_ten_a_minute(api):
    sandbox, _ = api
    sandbox.bulk.options.page_size = 200_000
    job = job_id_of(create(api, {"module": LEADS, "fields": ["id"]}))
    for _ in range(10):
        assert download(api, job).status_code == 200
    throttled = download(api, job)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "TOO_MANY_REQUESTS"


def test_credits_are_fifty_one_and_one():
    sandbox, session = bulk_sandbox()
    try:
        before = sandbox.stats.credits
        job = job_id_of(create((sandbox, session), {"module": LEADS, "fields": ["id"]}))
        assert sandbox.stats.credits - before == 50
        poll((sandbox, session), job)
        assert sandbox.stats.credits - before == 51
        download((sandbox, session), job)
        assert sandbox.stats.credits - before == 52
        assert sandbox.stats.requests["crm_bulk_create"] == 1
        assert sandbox.stats.requests["crm_bulk_poll"] == 1
        assert sandbox.stats.requests["crm_bulk_download"] == 1
    finally:
        sandbox.stop()


def test_hide_converted_leaves_converted_and_unapproved_records_out():
    sandbox, session = bulk_sandbox(hide_converted=True)
    try:
        ids = sorted(sandbox.records("Leads"), key=int)
        sandbox.store.modules["Leads"].records[ids[0]]["$converted"] = True
        sandbox.store.modules["Leads"].records[ids[1]]["$approved"] = False
        job = job_id_of(create((sandbox, session), {"module": LEADS, "fields": ["id"]}))
        _, _, rows = rows_of(download((sandbox, session), job))
        records = sandbox.store.modules["Leads"].records
        seeded_hidden = {r for r in ids if records[r].get("Converted__s")}  # converted by the seed
        assert [row[0] for row in rows[1:]] == [r for r in ids[2:] if r not in seeded_hidden]
    finally:
        sandbox.stop()


def test_bulk_read_needs_the_bulk_scope():
    sandbox = Sandbox(specs=[ModuleSpec("Leads", 3, [("Last_Name", "text")], [])])
    sandbox.start()
    try:
        sandbox.accounts.issue_refresh_token(
            "1000.SANDBOXCLIENT0000000000000000", "ZohoCRM.modules.READ", token="rt-no-bulk"
        )
        token = mint(sandbox, refresh_token="rt-no-bulk").json()["access_token"]
        response = requests.post(
            f"{sandbox.base_url}{BULK}",
            json={"query": {"module": LEADS}},
            headers={"Authorization": f"Zoho-oauthtoken {token}"},
            timeout=5,
        )
        assert response.status_code == 401
        assert response.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    finally:
        sandbox.stop()
