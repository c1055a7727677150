"""Single-record reads: for every record of a module whose cheaper route Zoho refuses, and for
rich text a list may have cut, at one credit a record within the run's cap.

Get Records returns no subform, multi-select/multi-user lookup or line-item values and cuts rich
text at 500 characters (zoho-api.md 3.2); the sandbox does the same. It models the Subform API of
Lead_Items and Quoted_Items only (3.3), so Deals, Invoices, Sales_Orders and Purchase_Orders take
one single-record read per record here; tests/integration/tap_zoho/test_completion.py covers the cheaper routes.
"""

from __future__ import annotations

import logging

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import ModuleSpec

INVENTORY = ["Quotes", "Invoices", "Sales_Orders", "Purchase_Orders"]
LINE_ITEMS = {
    "Quotes": "Quoted_Items",
    "Invoices": "Invoiced_Items",
    "Sales_Orders": "Ordered_Items",
    "Purchase_Orders": "Purchased_Items",
}


def _live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def test_every_value_of_every_record_equals_the_sandbox_including_omitted_ones(sandbox):
    modules = ["Leads", "Deals", *INVENTORY]

    run = run_tap(sandbox.tap_config(crm_modules=modules))

    assert run.error is None
    for module in modules:
        got = _live(run, module.lower())
        expected = sandbox.records(module)
        assert got.keys() == expected.keys(), module
        for rid, record in expected.items():
            assert got[rid] == record, (module, rid)
    for module, field in LINE_ITEMS.items():
        assert all(r[field] for r in _live(run, module.lower()).values())
    assert "incomplete_records" not in run.summary


def test_each_record_is_read_once_more_only_when_this_run_listed_it(sandbox):
    config = sandbox.tap_config(crm_modules=["Deals", "Accounts"])
    first = run_tap(config)
    full_reads = sandbox.stats.requests["record"]
    deals = sorted(sandbox.records("Deals"))
    sandbox.update("Deals", deals[0], {"Stage": "Lost"})
    sandbox.update("Deals", deals[1], {"Stage": "Lost"})

    second = run_tap(config, state=first.state)

    assert full_reads == len(sandbox.records("Deals"))  # Accounts has nothing a list omits
    assert sandbox.stats.requests["record"] - full_reads == 2
    assert _live(second, "deals")[deals[0]] == sandbox.records("Deals")[deals[0]]


def test_rich_text_alone_costs_a_read_only_where_the_list_may_have_cut_it():
    spec = ModuleSpec("Notes_X", 120, [("Name", "text"), ("Body", "richtext")], [])
    sandbox = Sandbox(specs=[spec])
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_include_deleted=False))
    finally:
        sandbox.stop()

    expected = sandbox.records("Notes_X")
    at_least_500 = [r for r in expected.values() if len(r["Body"] or "") >= 500]
    assert 0 < len(at_least_500) < len(expected)
    assert sandbox.stats.requests["crm_rich_text"] == len(at_least_500)  # the Rich Text API
    assert sandbox.stats.requests["record"] == 0
    assert _live(run, "notes_x") == expected
    assert any(len(r["Body"] or "") > 500 for r in expected.values())


def test_the_per_run_cap_bounds_the_reads_and_the_summary_counts_what_it_left(full_sandbox, caplog):
    sandbox = full_sandbox
    caplog.set_level(logging.WARNING)

    run = run_tap(
        sandbox.tap_config(crm_modules=["Deals", "Invoices"], crm_detail_reads_max_per_run=50)
    )

    total = len(sandbox.records("Deals")) + len(sandbox.records("Invoices"))
    assert run.error is None
    assert sandbox.stats.requests["record"] == 50
    assert sum(run.summary["incomplete_records"].values()) == total - 50
    assert "crm_detail_reads_max_per_run (50) reached" in caplog.text
    assert len(_live(run, "invoices")) == len(sandbox.records("Invoices"))  # still every record


def test_detail_reads_can_be_turned_off(sandbox):
    run = run_tap(sandbox.tap_config(crm_modules=["Quotes"], crm_detail_reads=False))

    assert sandbox.stats.requests["record"] == 0
    assert sandbox.stats.requests["crm_subform_list"] == 0
    assert run.summary["incomplete_records"] == {"Quotes": len(sandbox.records("Quotes"))}
    assert all(r["Quoted_Items"] is None for r in _live(run, "quotes").values())


def test_values_zoho_says_hold_more_are_counted_incomplete():
    sandbox = Sandbox(limits=Limits(detail_array_cap=2))
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_modules=["Invoices"]))
    finally:
        sandbox.stop()

    over = [r for r in sandbox.records("Invoices").values() if len(r["Invoiced_Items"]) > 2]
    assert over
    assert run.summary["incomplete_records"] == {"Invoices": len(over)}


def test_a_record_deleted_before_its_detail_read_does_not_fail_the_module(sandbox):
    invoices = sorted(sandbox.records("Invoices"))
    # modules, fields, count, Invoiced_Items' fields (refused: not modelled), the list
    calls_before_details = 5
    sandbox.on_call(calls_before_details, lambda: sandbox.delete("Invoices", invoices[-1]))

    run = run_tap(sandbox.tap_config(crm_modules=["Invoices"], crm_reference_data=False))

    assert run.error is None
    assert sandbox.stats.requests["INVALID_DATA"] == 1  # its single-record read found nothing
    assert invoices[-1] in run.ids("invoices", deleted=True)


def test_deselected_fields_cost_no_detail_reads(sandbox):
    from tap_zoho.tap import TapZoho

    catalog = TapZoho(config=sandbox.tap_config(crm_modules=["Quotes"])).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] in (
                ["properties", "Quoted_Items"],
                ["properties", "Terms_and_Conditions"],
            ):
                meta["metadata"]["selected"] = False

    run = run_tap(sandbox.tap_config(crm_modules=["Quotes"]), catalog=catalog)

    for kind in ("record", "crm_rich_text", "crm_subform_list"):
        assert sandbox.stats.requests[kind] == 0
    assert len(_live(run, "quotes")) == len(sandbox.records("Quotes"))


def test_records_the_cap_left_incomplete_are_completed_by_the_next_runs(full_sandbox):
    sandbox = full_sandbox
    config = sandbox.tap_config(crm_modules=["Invoices"], crm_detail_reads_max_per_run=15)
    expected = sandbox.records("Invoices")

    first = run_tap(config)
    second = run_tap(config, state=first.state)
    third = run_tap(config, state=second.state)
    fourth = run_tap(config, state=third.state)

    assert first.summary["incomplete_records"] == {"Invoices": len(expected) - 15}
    assert len(first.state["bookmarks"]["invoices"]["detail_pending"]) == len(expected) - 15
    latest = {}
    for run in (first, second, third):
        for record in run.records["invoices"]:
            latest[record["id"]] = record
    assert latest == expected  # the completed versions replace the incomplete ones
    assert len(second.ids("invoices")) == 15
    assert "detail_pending" not in third.state["bookmarks"]["invoices"]
    assert fourth.ids("invoices") == []
    assert sandbox.stats.requests["record"] == len(expected)  # each record read once
