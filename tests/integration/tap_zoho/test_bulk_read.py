"""First full syncs of large modules through Bulk Read: every record once, typed, for few credits."""

from __future__ import annotations

import logging
import math

import pytest
from tap_zoho.crm.bulk_read import jobs as bulk_jobs

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import ALL_TYPES, LEADS_STANDARD, ModuleSpec, wide_module_spec

ID_ONLY = {"lookup", "ownerlookup", "userlookup", "multi_module_lookup", "consent_lookup"}
BULK_CALLS = ("crm_bulk_create", "crm_bulk_poll", "crm_bulk_download")


def start(specs, **bulk):
    sandbox = Sandbox(specs=specs, bulk=BulkOptions(**{"delay_seconds": 0, **bulk}))
    sandbox.start()
    return sandbox


@pytest.fixture(autouse=True)
def fresh_download_throttle(monkeypatch):
    """The 10-a-minute download budget is per process: each test starts with a full one."""
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle())


@pytest.fixture
def leads():
    """120 Leads of every data type (subforms, lookups, uploads ...), exported 40 rows a page."""
    sandbox = start([ModuleSpec("Leads", 120, LEADS_STANDARD, ALL_TYPES)], page_size=40)
    yield sandbox
    sandbox.stop()


def bulk_config(sandbox, **overrides):
    parents = [name for name, module in sandbox.store.modules.items() if module.parent is None]
    settings = {"crm_modules": parents, "crm_bulk_read_min_records": 50}
    return sandbox.tap_config(**{**settings, **overrides})


def bulk_form(sandbox, module, record):
    """What a Bulk Read backfill delivers for a sandbox record (README: what differs, and why)."""
    out = {}
    for meta in sandbox.store.modules[module].fields:
        value = record.get(meta.api_name)
        if meta.data_type in ID_ONLY and value is not None:
            value = {"id": value["id"]}
        elif meta.json_type == "jsonarray" and meta.data_type == "text":  # Tag
            value = [{"name": tag["name"]} for tag in value] or None
        out[meta.api_name] = None if value == "" else value  # an empty cell is null
    out["id"] = record["id"]
    return out


def live(run, stream):
    return [r for r in run.records[stream] if not r.get("_sdc_deleted_at")]


def test_backfill_delivers_every_record_and_field_once_through_few_calls(leads):
    run = run_tap(bulk_config(leads))

    assert run.error is None, run.error
    expected = leads.records("Leads")
    got = live(run, "leads")
    assert sorted(r["id"] for r in got) == sorted(expected)
    module = leads.store.modules["Leads"]
    hidden = [r for r in got if not module.listed(r["id"], converted="false", approved="true")]
    assert hidden
    for record in got:
        # The export holds converted and unapproved Leads too (this reading): from it, like all.
        assert record == bulk_form(leads, "Leads", expected[record["id"]]), record["id"]
    requests = leads.stats.requests
    assert requests["crm_bulk_create"] == 3  # 120 records, 40 a page
    assert requests["crm_bulk_download"] == 3
    # Get Records only for what the export cannot hold: the subform & co. pass and the side passes.
    assert requests["records"] < math.ceil(120 / 200) * 2 * 2 + 6


def test_backfill_bookmarks_no_later_than_the_job_and_the_next_run_reads_nothing(leads):
    created_at = leads.store.clock.now()
    first = run_tap(bulk_config(leads))
    bookmark = first.state["bookmarks"]["leads"]
    from tap_zoho.datetimes import to_epoch

    # The backfill resumes bookmark_lag_seconds + 1 before the job; the follow-up pass moves it
    # to the newest settled record it found already exported.
    assert to_epoch(bookmark["replication_key_value"]) <= created_at
    assert "boundary_ids" not in bookmark

    second = run_tap(bulk_config(leads), state=first.state)
    assert live(second, "leads") == []
    assert leads.stats.requests["crm_bulk_create"] == 3  # no second backfill


def test_changes_made_while_the_job_runs_are_read_by_the_follow_up(leads, monkeypatch):
    ids = sorted(leads.records("Leads"), key=int)
    original = leads.bulk.create

    def create_then_edit(raw):
        answer = original(raw)
        if leads.stats.requests["crm_bulk_create"] == 0:
            leads.update("Leads", ids[5], {"Last_Name": "Edited during the export"})
            leads.create("Leads", {"Last_Name": "Created during the export"})
        return answer

    monkeypatch.setattr(leads.bulk, "create", create_then_edit)
    run = run_tap(bulk_config(leads))

    got = live(run, "leads")
    latest = {r["id"]: r for r in got}
    assert latest[ids[5]]["Last_Name"] == "Edited during the export"
    assert "Created during the export" in {r["Last_Name"] for r in got}
    emitted = [r["id"] for r in got]
    twice = {rid for rid in emitted if emitted.count(rid) > 1}
    assert twice == {ids[5]}  # only the record that changed


def test_unchanged_records_at_the_job_second_are_not_emitted_twice(leads):
    rid = sorted(leads.records("Leads"), key=int)[3]
    leads.update("Leads", rid, {"Last_Name": "Touched just before"})  # Modified_Time = job second

    run = run_tap(bulk_config(leads))

    ids = [r["id"] for r in live(run, "leads")]
    assert sorted(ids) == sorted(leads.records("Leads"))


@pytest.mark.parametrize("hide", [False, True], ids=["export-holds-them", "export-hides-them"])
def test_converted_and_unapproved_records_arrive_once_in_either_reading(hide):
    sandbox = start([ModuleSpec("Leads", 90, [("Last_Name", "text")], [])], hide_converted=hide)
    try:
        records = sandbox.store.modules["Leads"].records
        ids = sorted(records, key=int)
        for rid in ids[:4]:
            records[rid]["$converted"] = True
        for rid in ids[3:7]:
            records[rid]["$approved"] = False
        run = run_tap(bulk_config(sandbox))
    finally:
        sandbox.stop()

    emitted = [r["id"] for r in live(run, "leads")]
    assert sorted(emitted, key=int) == ids


def test_a_module_bulk_read_refuses_is_read_through_get_records(leads, caplog):
    leads.bulk.refused.add("Leads")
    with caplog.at_level(logging.WARNING):
        run = run_tap(bulk_config(leads))

    assert run.error is None
    assert leads.stats.requests["crm_bulk_download"] == 0
    assert any("Bulk Read refused" in r.getMessage() for r in caplog.records)
    got = {r["id"]: r for r in live(run, "leads")}
    assert got == leads.records("Leads")  # full lookups: this is the Get Records path


def test_zero_turns_bulk_read_off_and_small_modules_skip_it(leads):
    run_tap(bulk_config(leads, crm_bulk_read_min_records=0))
    run_tap(bulk_config(leads, crm_bulk_read_min_records=121))

    assert not any(leads.stats.requests[kind] for kind in BULK_CALLS)


def test_downloads_wait_for_the_throttle_instead_of_failing(monkeypatch):
    sandbox = start(
        [wide_module_spec("Big_X", 8, 100)],
        page_size=20,
        downloads_per_window=2,
        download_window_seconds=0.4,  # the tap keeps a margin: Zoho counts on arrival
    )
    monkeypatch.setattr(bulk_jobs, "DOWNLOAD_WINDOW_SECONDS", 0.5)
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle(limit=2))
    try:
        run = run_tap(bulk_config(sandbox, crm_include_deleted=False))
    finally:
        sandbox.stop()

    assert len(live(run, "big_x")) == 100
    assert sandbox.stats.requests["crm_bulk_download"] == 5
    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] == 0


def test_a_throttled_download_is_retried_after_the_window(monkeypatch):
    sandbox = start(
        [wide_module_spec("Big_X", 8, 60)],
        page_size=20,
        downloads_per_window=1,
        download_window_seconds=0.3,
    )
    monkeypatch.setattr(bulk_jobs, "DOWNLOAD_WINDOW_SECONDS", 0.3)
    try:
        run = run_tap(bulk_config(sandbox, crm_include_deleted=False))
    finally:
        sandbox.stop()

    assert run.error is None
    assert len(live(run, "big_x")) == 60
    assert sandbox.stats.requests["TOO_MANY_REQUESTS"] >= 1


def test_records_conform_to_the_schema_with_formats():
    from jsonschema import Draft7Validator, FormatChecker

    sandbox = start([ModuleSpec("Leads", 60, LEADS_STANDARD, ALL_TYPES)], page_size=25)
    try:
        run = run_tap(bulk_config(sandbox))
    finally:
        sandbox.stop()
    validator = Draft7Validator(run.schemas["leads"], format_checker=FormatChecker())
    for record in run.records["leads"]:
        errors = [e.message for e in validator.iter_errors(record)]
        assert not errors, (record["id"], errors)


def test_a_failed_job_falls_back_to_get_records(leads):
    leads.bulk.fail_next = 1
    run = run_tap(bulk_config(leads))

    assert run.error is None
    assert leads.stats.requests["crm_bulk_download"] == 0
    got = {r["id"]: r for r in live(run, "leads")}
    assert got.keys() == leads.records("Leads").keys()


def test_start_date_limits_the_export_to_records_modified_since(leads):
    from datetime import UTC, datetime

    epochs = sorted(leads.store.modules["Leads"].modified.values())
    start = datetime.fromtimestamp(epochs[60], UTC).isoformat()
    run = run_tap(bulk_config(leads, start_date=start))

    expected = {
        rid for rid, epoch in leads.store.modules["Leads"].modified.items() if epoch >= epochs[60]
    }
    assert {r["id"] for r in live(run, "leads")} == expected
    assert leads.stats.requests["crm_bulk_create"] >= 1
