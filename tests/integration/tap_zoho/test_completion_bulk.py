"""Bulk Read backfills complete values with exports too (contract 3.3, 4.4).

A backfill reads each subform and linking module beside the parent's job, by its own job or by
listing it, whichever costs fewer credits: small modules are listed, large ones exported (sizes
from the last read, kept in state). Exported rows carry lookups as ids only, like every lookup of
a backfill (README: what a Bulk Read record holds).
"""

from __future__ import annotations

import pytest
from tap_zoho.crm.bulk_read import jobs as bulk_jobs

from tests.support.completion_floor import linked_rows, pages, rich_text_reads
from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import completion_specs

ID_ONLY = {"lookup", "ownerlookup", "userlookup", "multi_module_lookup", "consent_lookup"}
SUBFORM, CONTACTS, USERS = "Subform_1", "Multiselectlookup_2", "Multiuserlookup_3"
LINKED = {SUBFORM: "Lead_Items", CONTACTS: "Leads_X_Contacts", USERS: "Leads_X_Users"}
LARGE = dict.fromkeys(LINKED.values(), 50_000)


@pytest.fixture(autouse=True)
def fresh_download_throttle(monkeypatch):
    """The 10-a-minute download budget is per process: each test starts with a full one."""
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle())


def start(**bulk):
    sandbox = Sandbox(
        specs=completion_specs(200, 0), bulk=BulkOptions(**{"delay_seconds": 0, **bulk})
    )
    sandbox.start()
    return sandbox


def config(sandbox, **settings):
    return sandbox.tap_config(
        **{
            "crm_modules": ["Leads"],
            "crm_bulk_read_min_records": 50,
            "crm_detail_reads_max_per_run": 1_000_000,
            "crm_reference_data": False,
            **settings,
        }
    )


def state_with_sizes(sizes):
    """A state that remembers how large each module was, but holds no bookmark (a backfill)."""
    return {"bookmarks": {"leads": {"completion_sizes": sizes}}}


def live(run):
    return {r["id"]: r for r in run.records["leads"] if not r.get("_sdc_deleted_at")}


def id_only(value):
    return {"id": value["id"]} if isinstance(value, dict) else value


def hidden(sandbox):
    """Converted and unapproved Leads: a backfill reads them by Get Records (whole lookups)."""
    module = sandbox.store.modules["Leads"]
    return {r for r in module.records if not module.listed(r, converted="false", approved="true")}


def exported(sandbox, record, *, nested):
    """What a backfill delivers for a Lead (README: lookups by id, Tags by name)."""
    listed = record["id"] in hidden(sandbox)
    out = {}
    for meta in sandbox.store.modules["Leads"].fields:
        value = record.get(meta.api_name)
        if meta.api_name in LINKED:
            value = [nested(meta.api_name, row) for row in value]
        elif listed:
            pass
        elif meta.data_type in ID_ONLY and value is not None:
            value = id_only(value)
        elif meta.json_type == "jsonarray" and meta.data_type == "text":  # Tag
            value = [{"name": tag["name"]} for tag in value] or None
        out[meta.api_name] = None if value == "" else value
    out["id"] = record["id"]
    return out


def listed_rows(field, row):
    return row


def exported_rows(field, row):
    if field == SUBFORM:
        return {
            **row,
            "Parent_Id": id_only(row["Parent_Id"]),
            "Unit_Price": float(row["Unit_Price"]),
        }
    lookup = next(key for key in row if key != "id")
    return {lookup: id_only(row[lookup]), "id": row["id"]}


def test_a_backfill_lists_small_subform_and_linking_modules_beside_its_job():
    sandbox = start()
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    expected = sandbox.records("Leads")
    got = live(run)
    assert got.keys() == expected.keys()
    for rid, record in expected.items():
        assert got[rid] == exported(sandbox, record, nested=listed_rows), rid
    requests = sandbox.stats.requests
    assert requests["crm_bulk_create"] == 1  # the parent's job; its small modules are listed
    rows = linked_rows(sandbox, "Leads")
    assert requests["crm_subform_list"] + requests["crm_linking_list"] == sum(
        pages(n) for n in rows.values()
    )
    assert requests["record"] == 0  # hidden (converted, unapproved) Leads too: from the lists
    assert requests["crm_rich_text"] == rich_text_reads(sandbox, "Leads")


@pytest.mark.parametrize("dotted", [False, True], ids=["Parent_Id", "Parent_Id.id"])
def test_a_backfill_exports_large_modules_by_jobs_beside_the_parents(dotted):
    sandbox = start(dotted_lookups=dotted)
    try:
        run = run_tap(config(sandbox), state=state_with_sizes(LARGE))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    expected = sandbox.records("Leads")
    got = live(run)
    for rid, record in expected.items():
        assert got[rid] == exported(sandbox, record, nested=exported_rows), rid
    requests = sandbox.stats.requests
    assert requests["crm_bulk_create"] == 1 + len(LINKED)
    assert requests["crm_subform_list"] + requests["crm_linking_list"] == 0
    assert requests["record"] == 0
    chosen = {line["values"]: line["route"] for line in run.summary["completion"]}
    assert chosen["Lead_Items"] == chosen["Leads_X_Users"] == "bulk_read_export"
    sizes = run.state["bookmarks"]["leads"]["completion_sizes"]
    assert sizes == {name: n for name, n in linked_rows(sandbox, "Leads").items()}


def test_when_exports_leave_hidden_parents_out_those_are_read_whole():
    sandbox = start(hide_converted=True)
    try:
        run = run_tap(config(sandbox), state=state_with_sizes(LARGE))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    left_out = hidden(sandbox)
    assert left_out
    got = live(run)
    for rid in left_out:  # read whole: names of lookups and all
        assert got[rid][SUBFORM] == sandbox.records("Leads")[rid][SUBFORM]
    assert sandbox.stats.requests["record"] == len(left_out)


def test_a_refused_export_lists_its_module_instead():
    sandbox = start()
    sandbox.bulk.refused.add("Lead_Items")
    try:
        run = run_tap(config(sandbox), state=state_with_sizes(LARGE))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    requests = sandbox.stats.requests
    assert requests["crm_bulk_create"] == len(LINKED)  # the parent's and two linking modules'
    assert requests["crm_subform_list"] == pages(linked_rows(sandbox, "Leads")["Lead_Items"])
    got = live(run)
    for rid, record in sandbox.records("Leads").items():
        assert got[rid][SUBFORM] == record[SUBFORM]  # listed: exactly the single-record read


def test_line_items_bulk_read_cannot_export_whole_are_listed_even_when_large():
    sandbox = Sandbox(specs=completion_specs(0, 120), bulk=BulkOptions(delay_seconds=0))
    sandbox.start()
    try:
        run = run_tap(
            sandbox.tap_config(crm_modules=["Quotes"], crm_bulk_read_min_records=50),
            state={"bookmarks": {"quotes": {"completion_sizes": {"Quoted_Items": 90_000}}}},
        )
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert sandbox.stats.requests["crm_bulk_create"] == 1  # Quoted_Items.Line_Tax: no export
    assert sandbox.stats.requests["crm_subform_list"] == pages(
        linked_rows(sandbox, "Quotes")["Quoted_Items"]
    )
    for rid, record in sandbox.records("Quotes").items():
        assert live_quotes(run)[rid]["Quoted_Items"] == record["Quoted_Items"]


def live_quotes(run):
    return {r["id"]: r for r in run.records["quotes"] if not r.get("_sdc_deleted_at")}
