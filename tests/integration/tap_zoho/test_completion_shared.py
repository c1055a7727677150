"""A linking module that is a stream of its own is listed once a run, for its stream and for its
parent's completion alike, whichever reaches it first (``tap_zoho.crm.completion.shared``), and
both get exactly what a listing of their own would give them, races included."""

from __future__ import annotations

import math
import time

import pytest

from tests.support.completion_floor import linked_rows
from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import completion_specs

LINKING = ("Leads_X_Contacts", "Leads_X_Users")
CONTACTS = "Multiselectlookup_2"


@pytest.fixture
def world():
    sandbox = Sandbox(specs=completion_specs(600, 0))
    sandbox.start()
    yield sandbox
    sandbox.stop()


def config(sandbox, modules, **settings):
    return sandbox.tap_config(
        crm_modules=modules,
        crm_detail_reads_max_per_run=1_000_000,
        crm_reference_data=False,
        crm_include_deleted=False,
        **settings,
    )


def wait_for(world, kind, calls):
    """A hook holding one request until ``calls`` calls of ``kind`` were served (at most 4 s)."""

    def hold():
        deadline = time.monotonic() + 4
        while world.stats.requests[kind] < calls and time.monotonic() < deadline:
            time.sleep(0.02)

    return hold


def linking_pages(world, per_page=200):
    rows = linked_rows(world, "Leads")
    return sum(math.ceil(rows[m] / per_page) for m in LINKING)


def streams_first(world, per_page=200):
    """The parent starts once both linking streams have listed their modules."""
    listed = wait_for(world, "crm_linking_list", linking_pages(world, per_page))
    world.on_path_call("/crm/v8/Leads/actions/count", 1, listed)


def parent_first(world):
    """The linking streams start once the parent's completion has listed both modules."""
    for module in LINKING:
        world.on_path_call(
            f"/crm/v8/{module}/actions/count",
            1,
            wait_for(world, "crm_linking_list", linking_pages(world)),
        )


def live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def assert_every_record_whole(run, sandbox, modules):
    for module in modules:
        assert live(run, module.lower()) == sandbox.records(module), module


@pytest.mark.parametrize("first", [parent_first, streams_first])
def test_one_listing_serves_the_linking_stream_and_the_parents_completion(world, first):
    first(world)

    run = run_tap(config(world, ["Leads", *LINKING]))

    assert run.error is None, run.error
    assert_every_record_whole(run, world, ["Leads", *LINKING])
    assert world.stats.requests["crm_linking_list"] == linking_pages(world)


def test_a_parent_edited_while_the_stream_lists_its_links_arrives_whole(world):
    leads = sorted(world.records("Leads"), key=int)
    with_links = [rid for rid in leads if world.records("Leads")[rid][CONTACTS]]
    streams_first(world, per_page=50)
    # Links removed while the stream pages its listing shift the next link out of every page.
    world.on_path_call(
        "/crm/v8/Leads_X_Contacts", 3, lambda: world.update("Leads", with_links[0], {CONTACTS: []})
    )

    run = run_tap(config(world, ["Leads", *LINKING], page_size=50))

    assert run.error is None, run.error
    assert_every_record_whole(run, world, ["Leads"])


def test_without_the_parent_the_linking_stream_lists_on_its_own(world):
    run = run_tap(config(world, list(LINKING)))

    assert run.error is None, run.error
    assert_every_record_whole(run, world, LINKING)


def test_an_incremental_run_keeps_the_parents_and_the_linking_streams_whole(world):
    modules = ["Leads", *LINKING]
    first = run_tap(config(world, modules))
    edited = sorted(world.records("Leads"), key=int)[:3]
    for n, rid in enumerate(edited):
        link = {"Contacts_Link": {"name": f"New {n}", "id": str(5843104000000709900 + n)}}
        world.update("Leads", rid, {CONTACTS: [link]})

    second = run_tap(config(world, modules), state=first.state)

    assert second.error is None, second.error
    got = live(second, "leads")
    for rid in edited:
        assert got[rid] == world.records("Leads")[rid]
    assert_every_record_whole(second, world, LINKING)
