"""Incremental completion chooses by cost and never pays for both routes (contract 3.3).

* without sizes in state (a first run from ``start_date``, a state from before
  ``completion_sizes``) the choice between one read per changed parent and re-listing the modules
  waits for the whole count of changed parents, so the run pays for one route only;
* a listing that cannot reach every row for a reason that does not go away (no page token past
  the position cap, one reading of 3.3) is not started again by later runs;
* a linking module that is a stream of its own is read once a full run, for the stream and for
  its parent's completion alike.
"""

from __future__ import annotations

import math

from tests.support.completion_floor import RICH_TEXT_CUT, linked_rows, pages, utf16
from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import completion_specs

SUBFORM, RICH = "Subform_1", "Richtext_4"
ROUTES = ("crm_subform_list", "crm_linking_list", "record", "crm_rich_text")


def config(sandbox, **settings):
    return sandbox.tap_config(
        crm_modules=["Leads"],
        crm_detail_reads_max_per_run=1_000_000,
        crm_reference_data=False,
        crm_include_deleted=False,
        **settings,
    )


def completion_calls(sandbox, before=None):
    before = before or {}
    return sum(sandbox.stats.requests[k] - before.get(k, 0) for k in ROUTES)


def test_a_first_run_from_start_date_without_known_sizes_pays_for_one_route_only():
    page = 20  # 200-row pages at a tenth of the data: the same arithmetic
    sandbox = Sandbox(specs=completion_specs(600, 0))
    sandbox.start()
    try:
        records = sorted(sandbox.records("Leads").values(), key=lambda r: r["Modified_Time"])
        start_date = records[-590]["Modified_Time"]
        changed = [r for r in records if r["Modified_Time"] >= start_date]
        run = run_tap(config(sandbox, page_size=page, start_date=start_date))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    got = {r["id"]: r for r in run.records["leads"]}
    for record in changed:
        assert got[record["id"]] == record
    rich = sum(1 for r in changed if utf16(r[RICH] or "") >= RICH_TEXT_CUT)
    probes = 2
    listing = sum(math.ceil(n / page) for n in linked_rows(sandbox, "Leads").values()) + probes
    cheaper = min(listing + rich, len(changed))  # contract 3.3: whichever is smaller
    assert completion_calls(sandbox) <= 1.25 * cheaper + 20


def test_a_listing_that_cannot_reach_every_row_is_not_started_again_by_later_runs():
    limits = Limits(discrete_cap=200, subform_page_tokens=False)
    sandbox = Sandbox(specs=completion_specs(400, 0), limits=limits)
    sandbox.start()
    try:
        assert len(sandbox.store.modules["Lead_Items"].records) > limits.discrete_cap
        first = run_tap(config(sandbox))
        assert first.error is None, first.error
        assert sandbox.stats.requests["record"] == len(sandbox.records("Leads"))  # fell back
        state, wasted = first.state, 0
        leads = sorted(sandbox.records("Leads"), key=int)
        for batch in (leads[:40], leads[40:80]):
            for rid in batch:
                sandbox.update(
                    "Leads", rid, {SUBFORM: [{"Item": "e", "Qty": 1, "Unit_Price": 1.0}]}
                )
            before = dict(sandbox.stats.requests)
            run = run_tap(config(sandbox), state=state)
            assert run.error is None, run.error
            state = run.state
            wasted += sandbox.stats.requests["crm_subform_list"] - before["crm_subform_list"]
            got = {r["id"]: r for r in run.records["leads"]}
            for rid in batch:
                assert got[rid] == sandbox.records("Leads")[rid]
    finally:
        sandbox.stop()

    assert wasted == 0


def test_a_default_full_sync_reads_each_linking_module_once():
    sandbox = Sandbox(specs=completion_specs(1000, 0))
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_reference_data=False, crm_include_deleted=False))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert {"leads_x_contacts", "leads_x_users"} <= run.records.keys()  # streams of their own
    rows = linked_rows(sandbox, "Leads")
    once = sum(pages(rows[name]) for name in ("Leads_X_Contacts", "Leads_X_Users"))
    assert sandbox.stats.requests["crm_linking_list"] == once
