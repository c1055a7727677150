"""Incremental runs return exactly what changed: updates, inserts, deletions, ties, mid-run edits."""

from __future__ import annotations

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import ModuleSpec


def test_incremental_run_returns_exactly_the_changed_and_deleted_records(sandbox):
    config = sandbox.tap_config(crm_modules=["Leads", "Accounts"])
    first = run_tap(config)
    leads = sorted(sandbox.records("Leads"))
    accounts = sorted(sandbox.records("Accounts"))

    for rid in leads[:3]:
        sandbox.update("Leads", rid, {"Lead_Status": "Qualified"})
    sandbox.update("Accounts", accounts[10], {"Rating": "Lost"})
    created = sandbox.create("Leads", {"Last_Name": "Newcomer"})
    sandbox.delete("Leads", leads[5])
    sandbox.delete("Accounts", accounts[0], permanent=True)

    second = run_tap(config, state=first.state)

    assert second.error is None
    assert sorted(second.ids("leads", deleted=False)) == sorted([*leads[:3], created])
    assert second.ids("leads", deleted=True) == [leads[5]]
    assert second.ids("accounts", deleted=False) == [accounts[10]]
    assert second.ids("accounts", deleted=True) == [accounts[0]]
    changed = {r["id"]: r for r in second.records["leads"]}
    assert changed[leads[0]]["Lead_Status"] == "Qualified"
    tombstone = next(r for r in second.records["leads"] if r.get("_sdc_deleted_at"))
    assert set(tombstone) == {"id", "_sdc_deleted_at"}  # the target decides that it wins


def test_a_run_with_nothing_changed_emits_no_records(sandbox):
    config = sandbox.tap_config(crm_modules=["Leads", "Contacts_X_Deals"])
    first = run_tap(config)

    second = run_tap(config, state=first.state)

    assert second.records["leads"] == []
    assert second.state["bookmarks"]["leads"] == first.state["bookmarks"]["leads"]


def test_records_sharing_the_bookmark_second_are_neither_lost_nor_repeated():
    spec = ModuleSpec("Ties_X", 30, [("Name", "text")], [])
    sandbox = Sandbox(specs=[spec])
    sandbox.start()
    try:
        config = sandbox.tap_config()
        first = run_tap(config)
        sandbox.store.clock.advance()
        # 450 records in one second, like a mass update, split across two runs.
        batch_one = [sandbox.store.put_record("Ties_X", {"Name": f"a{i}"}) for i in range(250)]
        second = run_tap(config, state=first.state)
        batch_two = [sandbox.store.put_record("Ties_X", {"Name": f"b{i}"}) for i in range(200)]
        third = run_tap(config, state=second.state)
        fourth = run_tap(config, state=third.state)
    finally:
        sandbox.stop()

    assert sorted(second.ids("ties_x")) == sorted(batch_one)
    assert sorted(third.ids("ties_x")) == sorted(batch_two)
    assert fourth.ids("ties_x") == []


def test_records_edited_while_the_sync_runs_are_not_lost():
    spec = ModuleSpec("Busy_X", 1200, [("Name", "text")], [], seconds_apart=5)
    sandbox = Sandbox(specs=[spec])
    sandbox.start()
    try:
        ids = sorted(sandbox.records("Busy_X"), key=int)

        def edit_already_read_records():
            # Records at the start of the order jump to the end: position paging would skip.
            for rid in ids[:150]:
                sandbox.update("Busy_X", rid, {"Name": "edited"})

        config = sandbox.tap_config(crm_include_deleted=False)
        first_calls = 4  # token, modules, fields, count: then records pages
        sandbox.on_call(first_calls + 2, edit_already_read_records)
        run = run_tap(config)
        final = sandbox.records("Busy_X")
    finally:
        sandbox.stop()

    latest = {}
    for record in run.records["busy_x"]:
        latest[record["id"]] = record
    assert latest.keys() == final.keys()
    assert all(latest[rid]["Name"] == final[rid]["Name"] for rid in final)


def test_an_interrupted_run_resumes_from_its_state_without_loss():
    spec = ModuleSpec("Resume_X", 1500, [("Name", "text")], ["currency"])
    sandbox = Sandbox(specs=[spec])
    sandbox.start()
    try:
        config = sandbox.tap_config(
            crm_include_deleted=False, max_retries=0, crm_reference_data=False
        )
        sandbox.faults.inject("500", times=1000, path_contains="/crm/v8/Resume_X")
        sandbox.faults.queued[-1].remaining = 0  # armed below, after a few pages

        def break_the_api():
            sandbox.faults.queued[-1].remaining = 1000

        sandbox.on_call(10, break_the_api)
        broken = run_tap(config)
        sandbox.faults.queued.clear()
        resumed = run_tap(config, state=broken.state)
    finally:
        sandbox.stop()

    assert broken.error is not None
    assert 0 < len(broken.ids("resume_x")) < 1500
    assert broken.state["bookmarks"]["resume_x"]["replication_key_value"]
    assert sorted(broken.ids("resume_x") + resumed.ids("resume_x")) == sorted(
        sandbox.records("Resume_X")
    )


def test_start_date_limits_the_first_run(full_sandbox):
    sandbox = full_sandbox
    records = sandbox.records("Accounts")
    times = sorted(r["Modified_Time"] for r in records.values())
    start = times[200]

    run = run_tap(
        sandbox.tap_config(crm_modules=["Accounts"], start_date=start, crm_include_deleted=False)
    )

    assert len(run.ids("accounts")) == 100


def test_a_new_custom_field_is_discovered_and_read_on_the_next_run(sandbox):
    config = sandbox.tap_config(crm_modules=["Accounts"])
    first = run_tap(config)
    sandbox.add_field("Accounts", "Region_X", default=None)
    rid = sorted(sandbox.records("Accounts"))[3]
    sandbox.update("Accounts", rid, {"Region_X": "EMEA"})

    second = run_tap(config, state=first.state)

    assert "Region_X" in second.schemas["accounts"]["properties"]
    assert second.records["accounts"] == [{**sandbox.records("Accounts")[rid]}]
