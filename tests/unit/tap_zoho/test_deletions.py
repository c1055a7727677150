"""How deletion lists join and what STATE keeps of a mass-delete second (tap_zoho.crm.deletions), without HTTP."""

from __future__ import annotations

from tap_zoho.crm.deletions import MAX_SEEN, DeletionReader, DeletionWindow, bookmark

from tests.zoho_sandbox.store import epoch_of


def test_two_type_lists_join_at_the_earlier_end_when_the_later_is_past_zohos_clock():
    recycle, permanent = DeletionWindow(50, set()), DeletionWindow(50, set())
    recycle.take("r1", 100)
    permanent.take("p1", 90)

    # Zoho's clock when the recycle list was done: a recycle deletion made since is at 95 or
    # later, so ending at 100 could skip it; ending at 90 re-reads r1 instead.
    assert DeletionReader._joined([recycle, permanent], horizon=95) == (90, {"p1"})
    assert DeletionReader._joined([recycle, permanent], horizon=100) == (100, {"r1"})


def test_a_mass_delete_second_leaves_its_ids_in_state_only_while_it_may_still_grow():
    window = DeletionWindow(None, set())
    for n in range(MAX_SEEN + 1):
        window.take(str(n), 100)

    since, seen = bookmark(window, settled_before=100)  # second 100 may still take deletions
    assert (epoch_of(since), len(seen)) == (100, MAX_SEEN + 1)
    since, seen = bookmark(window, settled_before=101)  # settled: the position moves past it
    assert (epoch_of(since), seen) == (101, [])
