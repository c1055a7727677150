"""Edits racing the tap's reads of one second end with every record at its newest value (issue 9).

A mass update re-edited while it is read (records shift back by position), and a record edited
twice within one second with a read in between, for CRM and for Books, several seeded attempts
each; then the sandbox's ``Date`` header, which the tap's bookmark horizon is taken from.
"""

from __future__ import annotations

import pytest

from tests.support.keyset_scenarios import (
    CRM_STREAM,
    books_mass_update,
    books_problems,
    books_same_second,
    crm_mass_update,
    crm_problems,
    crm_same_second,
)

SEEDS = [1, 2, 3]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_crm_mass_update_edited_again_while_read_ends_at_the_newest_values(seed):
    scenario = crm_mass_update(seed)
    try:
        problems = crm_problems(scenario)
        scenario.run()  # a run after the race: nothing left to catch up, nothing lost since
        assert crm_problems(scenario) == []
    finally:
        scenario.sandbox.stop()
    assert problems == [], f"{len(problems)} stale right after the racing run: {problems[:5]}"


def test_a_crm_mass_update_past_the_position_cap_ends_at_the_newest_values():
    scenario = crm_mass_update(5, records=2100, page=200)  # page tokens past record 2,000
    try:
        problems = crm_problems(scenario)
    finally:
        scenario.sandbox.stop()
    assert problems == []


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lag", [None, 0])
def test_a_crm_record_edited_twice_in_one_second_is_emitted_at_its_second_value(seed, lag):
    config = {} if lag is None else {"bookmark_lag_seconds": lag}
    scenario = crm_same_second(seed, **config)
    try:
        problems = crm_problems(scenario)
    finally:
        scenario.sandbox.stop()
    assert problems == []


@pytest.mark.parametrize("seed", SEEDS)
def test_a_books_mass_update_edited_again_while_read_ends_at_the_newest_values(seed):
    scenario = books_mass_update(seed)
    try:
        problems = books_problems(scenario)
    finally:
        scenario.sandbox.stop()
    assert problems == [], f"{len(problems)} stale: {problems[:5]}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("lag", [None, 0])
def test_a_books_record_edited_twice_in_one_second_is_emitted_at_its_second_value(seed, lag):
    config = {} if lag is None else {"bookmark_lag_seconds": lag}
    scenario = books_same_second(seed, **config)
    try:
        problems = books_problems(scenario)
    finally:
        scenario.sandbox.stop()
    assert problems == []


def test_a_run_with_nothing_changed_after_a_mass_update_emits_nothing_more():
    scenario = crm_mass_update(4)
    try:
        scenario.sandbox.store.clock.step(60)  # the mass-update second is long settled
        scenario.run()
        settled = scenario.run()
    finally:
        scenario.sandbox.stop()
    assert settled.records[CRM_STREAM] == []
