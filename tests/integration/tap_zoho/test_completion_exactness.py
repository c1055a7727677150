"""Completed values equal a single-record read exactly, whichever route delivered them (3.2, 3.3).

* a single-record read may cut an array and say so in ``$has_more`` (3.2), while the subform and
  linking modules hold every row (3.3): a parent read one at a time must not end with fewer rows;
* the rows of a line-item subform listed by id must reach their parent in the order a
  single-record read holds them (``Sequence_Number``).
"""

from __future__ import annotations

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import completion_specs

SUBFORM, CONTACTS, USERS = "Subform_1", "Multiselectlookup_2", "Multiuserlookup_3"
LINE_ITEMS = "Quoted_Items"


def start(leads, quotes, limits=None):
    sandbox = Sandbox(specs=completion_specs(leads, quotes), limits=limits)
    sandbox.start()
    return sandbox


def config(sandbox, modules, **settings):
    return sandbox.tap_config(
        crm_modules=modules,
        crm_detail_reads_max_per_run=1_000_000,
        crm_reference_data=False,
        **settings,
    )


def live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def test_a_changed_parent_whose_single_record_read_says_has_more_arrives_whole():
    sandbox = start(200, 0, Limits(detail_array_cap=1))  # a single read returns one row a field
    try:
        first = run_tap(config(sandbox, ["Leads"]))
        assert first.error is None, first.error
        rid = sorted(sandbox.records("Leads"), key=int)[3]
        rows = [{"Item": f"row {n}", "Qty": n, "Unit_Price": 1.5 * n} for n in range(1, 4)]
        sandbox.update("Leads", rid, {SUBFORM: rows})

        second = run_tap(config(sandbox, ["Leads"]), state=first.state)
    finally:
        sandbox.stop()

    assert second.error is None, second.error
    expected = sandbox.records("Leads")[rid]
    assert len(expected[SUBFORM]) == len(rows)
    assert live(second, "leads")[rid] == expected  # three rows, not the one a single read gives
    assert "incomplete_records" not in second.summary


def test_line_items_arrive_in_the_order_a_single_record_read_gives():
    sandbox = start(0, 20)
    try:
        quotes = sandbox.records("Quotes")
        qid = next(q for q, record in quotes.items() if len(record[LINE_ITEMS]) >= 2)
        items = quotes[qid][LINE_ITEMS]
        keep = ("id", "Parent_Id", "Created_Time", "Modified_Time")
        added = {k: v for k, v in items[0].items() if k not in keep}
        added.update(Description="added at the top", Sequence_Number=1)
        renumbered = [{**item, "Sequence_Number": n} for n, item in enumerate(items, start=2)]
        sandbox.update("Quotes", qid, {LINE_ITEMS: [added, *renumbered]})

        run = run_tap(config(sandbox, ["Quotes"]))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    expected = sandbox.records("Quotes")[qid][LINE_ITEMS]
    assert [row["Sequence_Number"] for row in expected] == list(range(1, len(items) + 2))
    got = live(run, "quotes")[qid][LINE_ITEMS]
    assert [row["id"] for row in got] == [row["id"] for row in expected]
    assert got == expected
