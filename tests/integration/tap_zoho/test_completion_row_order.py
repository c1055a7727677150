"""Joined subform rows follow the order Zoho's single-record read shows, under either reading of
that undocumented order (``tap_zoho.crm.completion.row_order``): ``Sequence_Number`` until a
single-record read shows rows by id against it, then by id."""

from __future__ import annotations

from tests.support.line_items import ITEMS, reorder_a_quote
from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import completion_specs


def config(sandbox):
    return sandbox.tap_config(
        crm_modules=["Quotes"],
        crm_detail_reads_max_per_run=1_000_000,
        crm_reference_data=False,
        crm_include_deleted=False,
    )


def test_line_items_follow_the_id_order_a_single_record_read_showed():
    sandbox = Sandbox(specs=completion_specs(0, 20), limits=Limits(detail_row_order="id"))
    sandbox.start()
    try:
        first = run_tap(config(sandbox))
        qid = reorder_a_quote(sandbox)
        second = run_tap(config(sandbox), state=first.state)  # one changed quote: read whole
        state = second.state
        assert state["bookmarks"]["quotes"]["completion_row_order"] == {ITEMS: "id"}
        state["bookmarks"]["quotes"].pop("replication_key_value")  # a full read: joined rows
        third = run_tap(config(sandbox), state=state)
    finally:
        sandbox.stop()

    assert third.error is None, third.error
    assert sandbox.stats.requests["record"] == 1
    got = {r["id"]: r for r in third.records["quotes"]}
    assert got[qid][ITEMS] == sandbox.records("Quotes")[qid][ITEMS]
    assert got == sandbox.records("Quotes")
