"""Plain paging at the floor: /actions/count once, field groups in step, no field asked for that a
list never returns (zoho-api.md 3.1-3.3, pitfalls 2-3).

The floor of a wide module's full read is ceil(N/200) pages per field group plus the metadata.
Keyset windows re-read the boundary second of each page (one row when seconds are distinct): that
row per page, and a re-read pass over each second holding a page or more, are what the tap spends
above it, for reads that lose no record to edits made while they run (README: "Ties and races").
"""

from __future__ import annotations

import math

import pytest

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import ALL_TYPES, LEADS_STANDARD, ModuleSpec

WIDE = ALL_TYPES + ALL_TYPES[:12]  # 74 fields with the standard and system ones
OMITTED = {"subform", "multiselectlookup", "multiuserlookup"}


def start(records=2600, tie=0, limits=None):
    spec = ModuleSpec("Leads", records, LEADS_STANDARD, WIDE, tie_group=tie, unapproved_every=40)
    sandbox = Sandbox(specs=[spec], limits=limits)
    sandbox.start()
    return sandbox


def config(sandbox, **settings):
    return sandbox.tap_config(
        crm_modules=["Leads"],
        crm_detail_reads=False,
        crm_include_deleted=False,
        crm_reference_data=False,  # its calls are counted apart (tests/integration/tap_zoho/test_crm_reference.py)
        **settings,
    )


def listable_fields(sandbox):
    return [f for f in sandbox.store.modules["Leads"].fields if f.data_type not in OMITTED]


def keyset_pages(records: int, per_page: int = 200) -> int:
    """Pages of keyset windows over distinct seconds: each re-reads its boundary row."""
    return 1 + math.ceil(max(records - per_page, 0) / (per_page - 1))


def list_queries(sandbox):
    return [q for path, q in sandbox.stats.queries if path == "/crm/v8/Leads"]


def test_a_wide_full_read_costs_its_pages_and_three_metadata_calls():
    sandbox = start()
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    n = len(sandbox.records("Leads"))
    assert len(run.records["leads"]) == n
    groups = math.ceil(len(listable_fields(sandbox)) / 50)
    assert groups == 2
    requests = sandbox.stats.requests
    assert (requests["modules"], requests["fields"], requests["count"]) == (1, 1, 1)
    assert requests["records"] == groups * keyset_pages(n)
    assert sandbox.stats.api_calls <= 31  # the 2,600-Lead acceptance figure
    assert not any("ids" in q for q in list_queries(sandbox))  # the groups' pages line up
    omitted = {f.api_name for f in sandbox.store.modules["Leads"].fields if f.data_type in OMITTED}
    for query in list_queries(sandbox):
        assert not omitted & set(query["fields"].split(","))


@pytest.mark.parametrize("inclusive", [False, True], ids=["strict", "inclusive"])
def test_field_groups_page_in_step_through_a_tie_second_past_the_position_cap(inclusive):
    limits = Limits(discrete_cap=200, records_modified_since_inclusive=inclusive)
    sandbox = start(records=900, tie=450, limits=limits)
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    got = {r["id"]: r for r in run.records["leads"]}
    expected = sandbox.records("Leads")
    assert got.keys() == expected.keys()
    # Each group follows its own token chain through the tie; only the re-read pass, which
    # asks the first group alone, fetches the other group of the page leaving the tie by ids.
    assert any("page_token" in q for q in list_queries(sandbox))
    assert sum("ids" in q for q in list_queries(sandbox)) <= 2
    # Above the floor: the re-read pass (first group alone), and the window that reads the rows
    # after a tie paged by token, for both groups; asked again from the next second when Zoho
    # answered with rows of the tie (the inclusive reading).
    floor = 2 * keyset_pages(900)
    window = 2 * (1 + inclusive)
    assert sandbox.stats.requests["records"] <= floor + math.ceil(450 / 200) + window
    # What a list returns whole (completion is off: rich text stays cut at 500)
    listed = {f.api_name for f in listable_fields(sandbox) if f.extra.get("textarea") is None}
    for rid, record in expected.items():
        assert {k: v for k, v in got[rid].items() if k in listed} == {
            k: v for k, v in record.items() if k in listed
        }


def test_a_tie_second_is_read_again_by_one_field_group_only():
    sandbox = start(records=900, tie=450)
    try:
        run = run_tap(config(sandbox))
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    tie_pages = math.ceil(450 / 200)
    # The first pass pages through the tie in step; the re-read pass asks the first group alone,
    # and the other group only for the page that leaves the tie second.
    floor = 2 * keyset_pages(900)
    assert sandbox.stats.requests["records"] <= floor + tie_pages + 1


def test_an_incremental_run_with_nothing_new_asks_only_the_first_field_group():
    sandbox = start(records=400)
    try:
        first = run_tap(config(sandbox))
        before = sandbox.stats.requests["records"]
        second = run_tap(config(sandbox), state=first.state)
    finally:
        sandbox.stop()

    assert second.error is None, second.error
    assert second.records["leads"] == []
    assert sandbox.stats.requests["records"] - before == 1
    assert sandbox.stats.requests["count"] == 1  # the first run's only
