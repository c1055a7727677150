"""Values lists leave out arrive whole, by the cheapest route Zoho documents (contract 3.3).

Subform and line-item rows come from their subform modules, multi-select and multi-user lookups from
their linking modules, rich text a list may have cut from the Rich Text API; a module whose route
Zoho refuses falls back to one single-record read per record. Every test compares each emitted
record with the sandbox's store (what a single-record read returns) and counts calls against the
floor computed from the data (tests/support/completion_floor.py).
"""

from __future__ import annotations

import logging

import pytest

from tests.support.completion_floor import linked_rows, module_floor, pages, rich_text_reads
from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import completion_specs

MODULES = ["Leads", "Quotes"]
SUBFORM, CONTACTS, USERS, RICH = (
    "Subform_1",
    "Multiselectlookup_2",
    "Multiuserlookup_3",
    "Richtext_4",
)
LISTS = ("crm_subform_list", "crm_linking_list")
# modules; per module fields, count, deleted and the two probes around its lists; per subform
# module its field metadata
METADATA = 1 + 3 * len(MODULES) + 2 + 2 * len(MODULES)
OVERLAP = len(MODULES)  # keyset windows re-read their boundary second: about a row a page


def start(leads=300, quotes=60, limits=None, **kwargs):
    sandbox = Sandbox(specs=completion_specs(leads, quotes), limits=limits, **kwargs)
    sandbox.start()
    return sandbox


@pytest.fixture
def world():
    sandbox = start()
    yield sandbox
    sandbox.stop()


def config(sandbox, **settings):
    return sandbox.tap_config(
        **{
            "crm_modules": MODULES,
            "crm_detail_reads_max_per_run": 1_000_000,
            "crm_reference_data": False,  # its calls are counted apart (tests/integration/tap_zoho/test_crm_reference.py)
            **settings,
        }
    )


def live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def assert_whole(run, sandbox, modules=MODULES):
    """Every record emitted equals the single-record read's values, every record once."""
    for module in modules:
        got, expected = live(run, module.lower()), sandbox.records(module)
        assert got.keys() == expected.keys(), module
        for rid, record in expected.items():
            assert got[rid] == record, (module, rid)


def floor(sandbox, modules=MODULES):
    total = module_floor(sandbox, modules[0])
    for module in modules[1:]:
        total += module_floor(sandbox, module)
    return total


def routes(run):
    return {(line["module"], line["values"]): line for line in run.summary.get("completion", [])}


def test_a_full_sync_lists_subform_and_linking_modules_instead_of_reading_each_record(world):
    run = run_tap(config(world))

    assert run.error is None, run.error
    assert_whole(run, world)
    requests = world.stats.requests
    assert requests["record"] == 0
    rows = {**linked_rows(world, "Leads"), **linked_rows(world, "Quotes")}
    assert requests["crm_subform_list"] == pages(rows["Lead_Items"]) + pages(rows["Quoted_Items"])
    assert requests["crm_linking_list"] == pages(rows["Leads_X_Contacts"]) + pages(
        rows["Leads_X_Users"]
    )
    assert requests["crm_rich_text"] == rich_text_reads(world, "Leads") + rich_text_reads(
        world, "Quotes"
    )
    assert world.stats.api_calls <= floor(world).calls + METADATA + OVERLAP
    chosen = routes(run)
    assert chosen["Leads", "Lead_Items"]["route"] == "subform_list"
    assert chosen["Leads", "Leads_X_Users"]["route"] == "linking_list"
    assert chosen["Quotes", "Quoted_Items"]["route"] == "subform_list"
    assert "incomplete_records" not in run.summary


def test_few_changed_parents_are_read_one_each(world):
    first = run_tap(config(world))
    leads = sorted(world.records("Leads"), key=int)[:3]
    for rid in leads:
        world.update(
            "Leads",
            rid,
            {
                SUBFORM: [{"Item": "changed", "Qty": 7, "Unit_Price": 1.25}],
                CONTACTS: [{"Contacts_Link": {"name": "New", "id": "5843104000000709991"}}],
                USERS: [],
            },
        )
    before = dict(world.stats.requests)

    second = run_tap(config(world), state=first.state)

    assert second.error is None, second.error
    assert world.stats.requests["record"] - before.get("record", 0) == 3
    for kind in LISTS:
        assert world.stats.requests[kind] == before[kind]
    got = live(second, "leads")
    for rid in leads:
        assert got[rid] == world.records("Leads")[rid]
    assert "one read each" in routes(second)["Leads", "Lead_Items"]["reason"]


def test_many_changed_parents_relist_the_modules_instead(world):
    first = run_tap(config(world))
    listing = sum(pages(r) for r in linked_rows(world, "Leads").values())
    # Re-listing wins once it costs less than the reads it saves: rich text is read either way.
    leads = sorted(world.records("Leads"), key=int)[: 3 * (listing + 2) + 10]
    for n, rid in enumerate(leads):
        world.update(
            "Leads", rid, {SUBFORM: [{"Item": f"bulk {n}", "Qty": n, "Unit_Price": 2.0}], USERS: []}
        )
    before = dict(world.stats.requests)

    second = run_tap(config(world), state=first.state)

    assert second.error is None, second.error
    assert world.stats.requests["record"] == before.get("record", 0)
    relisted = sum(world.stats.requests[k] - before[k] for k in LISTS)
    assert relisted == sum(pages(r) for r in linked_rows(world, "Leads").values())
    got = live(second, "leads")
    for rid in leads:
        assert got[rid] == world.records("Leads")[rid]
    assert "re-list" in routes(second)["Leads", "Lead_Items"]["reason"]
    assert second.state["bookmarks"]["leads"]["completion_sizes"]["Lead_Items"] == len(
        world.store.modules["Lead_Items"].records
    )


def test_a_refused_route_falls_back_to_single_record_reads_for_that_module_only(caplog):
    caplog.set_level(logging.INFO)
    sandbox = start(limits=Limits(refused_modules=frozenset({"Lead_Items"})))
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert_whole(run, sandbox)
    assert sandbox.stats.requests["record"] == len(sandbox.records("Leads"))
    assert sandbox.stats.requests["crm_linking_list"] == 0  # one read per Lead has the links too
    assert sandbox.stats.requests["INVALID_MODULE"] == 1  # asked once
    assert sandbox.stats.requests["crm_subform_list"] == pages(
        linked_rows(sandbox, "Quotes")["Quoted_Items"]
    )
    line = routes(run)["Leads", "Lead_Items"]
    assert line["route"] == "single_record_reads"
    assert "INVALID_MODULE" in line["reason"]
    said = [r.message for r in caplog.records if "Lead_Items" in r.message]
    assert sum("INVALID_MODULE" in m and not m.startswith("Sync summary") for m in said) == 1


@pytest.mark.parametrize(
    "limits",
    [
        Limits(subform_list_filters=True, list_subform_modules=True, list_multiuser_linking=False),
        Limits(subform_modules=None, list_subform_modules=True),
    ],
    ids=["filters-honoured-and-modules-listed", "every-subform-module-served"],
)
def test_either_reading_of_the_unconfirmed_points_gives_the_same_whole_records(limits):
    sandbox = start(limits=limits)
    try:
        run = run_tap(
            sandbox.tap_config(crm_detail_reads_max_per_run=1_000_000, crm_reference_data=False)
        )
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert_whole(run, sandbox)
    assert sandbox.stats.requests["record"] == 0
    assert "lead_items" not in run.schemas  # a subform module's rows live in their parents
    assert "quoted_items" not in run.schemas


def test_a_subform_list_that_cannot_page_past_its_cap_falls_back():
    limits = Limits(discrete_cap=200, subform_page_tokens=False)
    sandbox = start(leads=400, limits=limits)
    try:
        assert len(sandbox.store.modules["Lead_Items"].records) > 200
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert_whole(run, sandbox)
    assert routes(run)["Leads", "Lead_Items"]["route"] == "single_record_reads"
    assert sandbox.stats.requests["record"] == len(sandbox.records("Leads"))


def test_without_the_rich_text_api_rich_text_comes_from_single_record_reads():
    sandbox = start(limits=Limits(rich_text_api=False))
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert_whole(run, sandbox)
    cut = rich_text_reads(sandbox, "Leads") + rich_text_reads(sandbox, "Quotes")
    assert sandbox.stats.requests["record"] == cut
    assert sandbox.stats.requests["INVALID_URL_PATTERN"] <= len(MODULES)  # asked once each


def test_detail_reads_off_completes_nothing_and_lists_never_ask_for_omitted_fields(world):
    run = run_tap(config(world, crm_detail_reads=False))

    assert run.error is None, run.error
    for kind in ("record", "crm_rich_text", *LISTS):
        assert world.stats.requests[kind] == 0
    assert run.summary["incomplete_records"]["Leads"] == len(world.records("Leads"))
    for record in live(run, "leads").values():
        assert record[SUBFORM] is None
    omitted = {SUBFORM, CONTACTS, USERS, "Quoted_Items"}
    for path, query in world.stats.queries:
        if path.endswith(("/Leads", "/Quotes")):
            assert not omitted & set(query.get("fields", "").split(",")), query


def test_the_cap_bounds_per_record_reads_only_and_later_runs_complete_the_rest(world):
    first = run_tap(config(world, crm_detail_reads_max_per_run=5))

    assert first.error is None, first.error
    cut = rich_text_reads(world, "Leads") + rich_text_reads(world, "Quotes")
    assert world.stats.requests["crm_rich_text"] + world.stats.requests["record"] == 5
    assert sum(first.summary["incomplete_records"].values()) == cut - 5
    assert world.stats.requests["crm_subform_list"] > 0  # lists are not capped

    second = run_tap(config(world), state=first.state)
    merged = {**live(first, "leads"), **live(second, "leads")}
    assert merged == world.records("Leads")


def test_rows_a_single_record_read_would_cut_arrive_whole_from_the_list():
    sandbox = start(limits=Limits(detail_array_cap=1))
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    assert "incomplete_records" not in run.summary
    assert any(len(r[SUBFORM]) > 1 for r in live(run, "leads").values())


def test_a_parent_edited_while_its_rows_are_listed_is_read_whole(world):
    leads = sorted(world.records("Leads"), key=int)
    edit = {SUBFORM: [{"Item": "racing", "Qty": 3, "Unit_Price": 9.5}]}
    world.on_path_call("/crm/v8/Lead_Items", 2, lambda: world.update("Leads", leads[5], edit))
    world.on_path_call("/crm/v8/Lead_Items", 2, lambda: world.delete("Leads", leads[0]))

    run = run_tap(config(world, page_size=100))

    assert run.error is None, run.error
    assert_whole(run, world)


def test_a_listing_dearer_than_the_reads_it_replaces_stops_and_is_remembered(world):
    settings = {"page_size": 50}  # 50 rows a list call: the modules take 20 calls or so
    first = run_tap(config(world, **settings))
    state = first.state
    del state["bookmarks"]["leads"]["completion_sizes"]  # a state from before: sizes unknown
    short = [r for r, v in sorted(world.records("Leads").items()) if len(v[RICH] or "") < 500]

    def edit(rids):
        for rid in rids:
            world.update("Leads", rid, {SUBFORM: [{"Item": "e", "Qty": 1, "Unit_Price": 1.0}]})

    edit(short[:12])
    before = dict(world.stats.requests)
    second = run_tap(config(world, **settings), state=state)

    assert second.error is None, second.error
    listed = sum(world.stats.requests[k] - before.get(k, 0) for k in LISTS)
    assert listed <= 12  # stopped once it cost as much as the 12 reads it was to replace
    assert world.stats.requests["record"] - before.get("record", 0) == 12
    sizes = second.state["bookmarks"]["leads"]["completion_sizes"]
    assert sum(sizes.values()) > 0

    edit(short[12:24])
    before = dict(world.stats.requests)
    third = run_tap(config(world, **settings), state=second.state)

    assert third.error is None, third.error
    assert sum(world.stats.requests[k] - before.get(k, 0) for k in LISTS) == 0  # not again
    assert world.stats.requests["record"] - before.get("record", 0) == 12
    got = {**live(second, "leads"), **live(third, "leads")}
    for rid in short[:24]:
        assert got[rid] == world.records("Leads")[rid]
