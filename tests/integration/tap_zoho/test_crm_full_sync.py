"""A full sync reads every record and every field, past the 2,000 and 50-field limits, cheaply."""

from __future__ import annotations

import math

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import ModuleSpec, wide_module_spec


def _live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def test_every_record_and_every_field_of_a_wide_large_module_arrives(full_sandbox):
    sandbox = full_sandbox
    run = run_tap(sandbox.tap_config(crm_modules=["Leads"]))

    assert run.error is None
    expected = sandbox.records("Leads")
    got = _live(run, "leads")
    assert len(expected) > 2000
    assert len(sandbox.store.modules["Leads"].fields) > 50
    assert got.keys() == expected.keys()
    for rid, record in expected.items():
        assert got[rid] == record, rid


def test_each_record_is_emitted_once_in_a_full_sync(full_sandbox):
    sandbox = full_sandbox
    run = run_tap(sandbox.tap_config(crm_modules=["Leads", "Accounts"]))

    for module, stream in (("Leads", "leads"), ("Accounts", "accounts")):
        ids = run.ids(stream, deleted=False)
        assert sorted(ids) == sorted(sandbox.records(module))  # each once, none missing


def test_api_calls_stay_close_to_the_floor_for_a_wide_module():
    sandbox = Sandbox(specs=[wide_module_spec("Wide_X", fields=120, records=3000)])
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_include_deleted=False))
        calls = sandbox.stats.requests["records"]
    finally:
        sandbox.stop()

    assert len(run.ids("wide_x")) == 3000
    floor = math.ceil(3000 / 200) * math.ceil(120 / 50)
    assert floor <= calls <= floor * 1.1 + 3


def test_one_token_is_minted_for_the_whole_run(sandbox):
    run = run_tap(sandbox.tap_config())

    assert run.error is None
    assert len(run.records) > 2  # several modules were read with that one token
    assert sandbox.accounts.mint_count == 1


def test_records_sharing_one_second_past_the_page_cap_are_read_with_page_tokens():
    spec = ModuleSpec("Bulk_X", 1500, [("Name", "text")], ["currency"], tie_group=1100)
    sandbox = Sandbox(specs=[spec], limits=Limits(discrete_cap=400, token_cap=100_000))
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_include_deleted=False))
    finally:
        sandbox.stop()

    assert sorted(run.ids("bulk_x")) == sorted(sandbox.records("Bulk_X"))
    assert len(run.ids("bulk_x")) == 1500


def test_a_module_larger_than_the_page_token_cap_is_read_completely():
    spec = ModuleSpec("Huge_X", 2600, [("Name", "text")], [], seconds_apart=1)
    sandbox = Sandbox(specs=[spec], limits=Limits(discrete_cap=400, token_cap=1000))
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_include_deleted=False))
    finally:
        sandbox.stop()

    assert sorted(run.ids("huge_x")) == sorted(sandbox.records("Huge_X"))


def test_a_module_without_modified_time_is_read_in_full_by_position(sandbox):
    run = run_tap(sandbox.tap_config(crm_modules=["Contacts_X_Deals"]))

    assert sorted(run.ids("contacts_x_deals")) == sorted(sandbox.records("Contacts_X_Deals"))
    assert run.state["bookmarks"]["contacts_x_deals"].get("replication_key_value") is None
