"""Profiles and territories are paged by position like users (contract 2.4: ``page`` /
``per_page`` up to 200 and 2,000, no tokens), so a profile or territory removed between two pages
shifts the next one out of every page read. Their streams read a listing of more than one page
again until two passes agree; a listing of one page costs one call, as before."""

from __future__ import annotations

import pytest

from tests.support.reference_data import add_rows
from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import completion_specs

ENTITIES = [
    ("profiles", "/crm/v8/settings/profiles", 200, "crm_profiles"),
    ("territories", "/crm/v8/settings/territories", 2000, "crm_territories"),
]


def two_pages(entity, per_page, more=1):
    """A sandbox listing ``more`` rows more than a page (the tap lists Lite profiles too)."""
    sandbox = Sandbox(specs=completion_specs(5, 0))
    sandbox.start()
    add_rows(sandbox, entity, per_page + more - len(getattr(sandbox.reference.world, entity)))
    return sandbox


def sync(sandbox):
    return run_tap(sandbox.tap_config(crm_modules=["Leads"], crm_include_deleted=False))


@pytest.mark.parametrize(("entity", "path", "per_page", "kind"), ENTITIES)
def test_a_row_removed_between_two_pages_shifts_no_other_out_of_the_stream(
    entity, path, per_page, kind
):
    sandbox = two_pages(entity, per_page, more=2)  # two pages before the removal and after
    try:
        everyone = [r["id"] for r in getattr(sandbox.reference.world, entity)]
        removed = everyone[2]
        sandbox.on_path_call(path, 2, lambda: sandbox.reference.remove(entity, removed))
        run = sync(sandbox)
        calls = sandbox.stats.requests[kind]
    finally:
        sandbox.stop()

    emitted = [r["id"] for r in run.records[f"crm-{entity}"]]
    assert sorted(emitted) == sorted(everyone)  # the removed one was read before it went
    assert calls == 3 * 2  # a pass that lost a row, one that found it, one that agrees


@pytest.mark.parametrize(("entity", "path", "per_page", "kind"), ENTITIES)
def test_a_listing_of_two_pages_costs_two_passes_and_one_of_one_page_one_call(
    entity, path, per_page, kind
):
    sandbox = two_pages(entity, per_page)
    try:
        sync(sandbox)
        two = sandbox.stats.requests[kind]
        sandbox.reference.remove(entity, getattr(sandbox.reference.world, entity)[-1]["id"])
        run = sync(sandbox)
        one = sandbox.stats.requests[kind] - two
    finally:
        sandbox.stop()

    assert two == 2 * 2
    assert one == 1
    assert len(run.records[f"crm-{entity}"]) == per_page


def test_a_listing_that_shrinks_to_one_page_under_its_pages_is_read_again_once():
    sandbox = two_pages("profiles", 200)  # 201: after a removal on page 1, page 2 is empty
    try:
        everyone = [r["id"] for r in sandbox.reference.world.profiles]
        path = "/crm/v8/settings/profiles"
        sandbox.on_path_call(path, 2, lambda: sandbox.reference.remove("profiles", everyone[2]))
        run = sync(sandbox)
        calls = sandbox.stats.requests["crm_profiles"]
    finally:
        sandbox.stop()

    assert sorted(r["id"] for r in run.records["crm-profiles"]) == sorted(everyone)
    assert calls == 2 + 1  # page 1, page 2 (204: the last row moved onto page 1), one page
