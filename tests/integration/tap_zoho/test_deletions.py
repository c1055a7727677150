"""Deletions (``/{module}/deleted``, contract 4.1) are read past one page and past the 2,000 cap.

Whether the position cap applies to ``/deleted`` is unconfirmed: the sandbox enforces it by
default (``deleted_page_cap``) and the tap must read every deletion under both readings.
"""

from __future__ import annotations

import pytest
from tap_zoho.crm.deletions import MAX_SEEN

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import ModuleSpec
from tests.zoho_sandbox.store import DeletedEntry, epoch_of

MODULE = "Gone_X"
STREAM = "gone_x"


@pytest.fixture
def deleting():
    """A sandbox factory: ``deleting(n)`` -> a sandbox with ``n`` deletions, and their ids."""
    started: list[Sandbox] = []

    def make(count: int, **limits) -> tuple[Sandbox, list[str]]:
        spec = ModuleSpec(MODULE, count + 20, [("Name", "text")], [])
        sandbox = Sandbox(specs=[spec], limits=Limits(**limits))
        sandbox.start()
        started.append(sandbox)
        ids = sorted(sandbox.records(MODULE))[:count]
        for n, rid in enumerate(ids):  # one second apart, oldest first
            sandbox.delete(MODULE, rid, permanent=n % 3 == 0)
        return sandbox, ids

    yield make
    for sandbox in started:
        sandbox.stop()


def _deleted_pages(sandbox):
    """The ``page`` of every ``/deleted`` call, in order (``1`` when the tap sent none)."""
    return [int(q.get("page", 1)) for path, q in sandbox.stats.queries if path.endswith("/deleted")]


def _newest_deletion(sandbox):
    entry = max(sandbox.store.modules[MODULE].deleted, key=lambda e: e.epoch)
    return entry.epoch, entry.record_id


def test_deletions_past_one_page_are_all_emitted_once(deleting):
    sandbox, deleted = deleting(450)

    run = run_tap(sandbox.tap_config())

    assert run.error is None
    assert sorted(run.ids(STREAM, deleted=True)) == deleted
    assert _deleted_pages(sandbox) == [1, 2, 3]
    bookmark = run.state["bookmarks"][STREAM]
    epoch, rid = _newest_deletion(sandbox)
    assert epoch_of(bookmark["deleted_since"]) == epoch
    assert bookmark["deleted_seen"] == [rid]


@pytest.mark.parametrize("capped", [True, False], ids=["deleted-capped", "deleted-uncapped"])
def test_deletions_past_the_position_cap_restart_the_window_at_the_newest(deleting, capped):
    sandbox, deleted = deleting(2300, deleted_page_cap=capped)

    run = run_tap(sandbox.tap_config())

    assert run.error is None
    tombstones = run.ids(STREAM, deleted=True)
    assert sorted(tombstones) == deleted  # every deletion, each once
    pages = _deleted_pages(sandbox)
    assert max(pages) == 10  # 2,000 entries: never a page past the cap
    assert pages.count(1) == 2  # the window restarted once, at the newest deletion seen
    assert run.state["bookmarks"][STREAM]["deleted_seen"] == [_newest_deletion(sandbox)[1]]

    survivor = next(iter(sandbox.records(MODULE)))
    sandbox.delete(MODULE, survivor)
    second = run_tap(sandbox.tap_config(), state=run.state)

    assert second.ids(STREAM, deleted=True) == [survivor]


def _mass_delete(sandbox, ids, kinds=("permanent",)):
    """Delete ``ids`` at one second (an import undone, a mass delete), types taken in turn."""
    with sandbox.store.lock:
        epoch = sandbox.store.clock.advance()
        module = sandbox.store.modules[MODULE]
        for n, rid in enumerate(ids):
            module.records.pop(rid)
            module.modified.pop(rid, None)
            module.created.pop(rid, None)
            module.deleted.append(DeletedEntry(rid, None, kinds[n % len(kinds)], epoch))
        module.invalidate()
    return epoch


@pytest.fixture
def mass_deleting():
    """``mass_deleting(n, kinds, **limits)`` -> a sandbox with ``n`` deletions in one second."""
    started: list[Sandbox] = []

    def make(count: int, kinds: tuple[str, ...], **limits) -> tuple[Sandbox, list[str]]:
        spec = ModuleSpec(MODULE, count + 50, [("Name", "text")], [])
        sandbox = Sandbox(specs=[spec], limits=Limits(**limits))
        sandbox.start()
        started.append(sandbox)
        deleted = sorted(sandbox.records(MODULE))[:count]
        _mass_delete(sandbox, deleted, kinds)
        return sandbox, deleted

    yield make
    for sandbox in started:
        sandbox.stop()


READINGS = {
    # /deleted has no position cap: page 11 is answered.
    "uncapped": ({"deleted_page_cap": False}, ("permanent",)),
    # The cap applies, and /deleted offers page tokens as Get Records does.
    "capped-with-tokens": ({"deleted_page_tokens": True}, ("permanent",)),
    # The contract's reading (cap, no token): each type is a list with a cap of its own.
    "capped-mixed-types": ({}, ("recycle", "permanent")),
}


@pytest.mark.parametrize("reading", list(READINGS))
def test_more_deletions_in_one_second_than_the_cap_are_all_read_in_one_run(mass_deleting, reading):
    limits, kinds = READINGS[reading]
    sandbox, deleted = mass_deleting(2100, kinds, **limits)

    first = run_tap(sandbox.tap_config())

    assert first.error is None
    assert sorted(first.ids(STREAM, deleted=True)) == deleted  # every one, each once
    bookmark = first.state["bookmarks"][STREAM]
    assert len(bookmark["deleted_seen"]) <= MAX_SEEN  # STATE stays small after a mass delete

    survivor = sorted(sandbox.records(MODULE))[0]
    sandbox.delete(MODULE, survivor)
    second = run_tap(sandbox.tap_config(), state=first.state)

    assert second.ids(STREAM, deleted=True) == [survivor]  # nothing read again


def test_the_uncapped_reading_is_found_by_asking_one_page_past_the_cap(mass_deleting):
    sandbox, _ = mass_deleting(2100, ("permanent",), deleted_page_cap=False)

    run_tap(sandbox.tap_config())

    pages = _deleted_pages(sandbox)
    assert pages.count(11) == 1
    assert pages[-11:] == list(range(1, 12))  # the stuck window goes on past the cap: no split
    assert all(q.get("type") == "all" for p, q in sandbox.stats.queries if p.endswith("/deleted"))


def test_the_capped_reading_splits_the_stuck_second_by_type(mass_deleting):
    sandbox, _ = mass_deleting(2100, ("recycle", "permanent"))

    run_tap(sandbox.tap_config())

    calls = [
        (q.get("type"), int(q.get("page", 1)))
        for p, q in sandbox.stats.queries
        if p.endswith("/deleted")
    ]
    # The stuck window asks page 11 once, is refused, then reads 1,050 of each type apart.
    assert calls[-23:] == (
        [("all", n) for n in range(1, 12)]
        + [("recycle", n) for n in range(1, 7)]
        + [("permanent", n) for n in range(1, 7)]
    )


def test_page_tokens_are_followed_when_offered_and_never_sent_otherwise(mass_deleting):
    tokens, _ = mass_deleting(2100, ("permanent",), deleted_page_tokens=True)
    plain, _ = mass_deleting(450, ("permanent",))

    run_tap(tokens.tap_config())
    run_tap(plain.tap_config())

    sent = [bool(q.get("page_token")) for p, q in tokens.stats.queries if p.endswith("/deleted")]
    assert sent == [False] + [True] * 10
    assert not any("page_token" in q for p, q in plain.stats.queries if p.endswith("/deleted"))


def test_one_type_past_the_cap_in_one_second_is_reported_and_does_not_block_later_ones(
    mass_deleting, caplog
):
    sandbox, deleted = mass_deleting(2100, ("permanent",))

    first = run_tap(sandbox.tap_config())

    assert first.error is None
    tombstones = first.ids(STREAM, deleted=True)
    assert len(tombstones) == 2000  # what Zoho can list, under the cap and without tokens
    assert len(set(tombstones)) == 2000
    assert set(tombstones) <= set(deleted)
    assert "more than 2000 permanent deletions from" in caplog.text
    [unlisted] = first.summary["unlisted_deletions"]
    assert (unlisted["module"], unlisted["type"]) == (MODULE, "permanent")

    later = sorted(sandbox.records(MODULE))[0]
    sandbox.delete(MODULE, later, permanent=True)
    second = run_tap(sandbox.tap_config(), state=first.state)

    assert second.ids(STREAM, deleted=True) == [later]  # the window moved past that second


@pytest.mark.parametrize("capped", [True, False], ids=["deleted-capped", "deleted-uncapped"])
def test_deletions_listed_newest_first_past_the_cap_are_all_read(deleting, capped):
    sandbox, deleted = deleting(2300, deleted_page_cap=capped, deleted_newest_first=True)

    first = run_tap(sandbox.tap_config())

    assert first.error is None
    assert sorted(first.ids(STREAM, deleted=True)) == deleted  # every deletion, each once
    assert first.state["bookmarks"][STREAM]["deleted_seen"] == [_newest_deletion(sandbox)[1]]
    survivor = next(iter(sandbox.records(MODULE)))
    sandbox.delete(MODULE, survivor)
    second = run_tap(sandbox.tap_config(), state=first.state)

    assert second.ids(STREAM, deleted=True) == [survivor]


@pytest.mark.parametrize("newest_first", [True, False], ids=["newest-first", "oldest-first"])
def test_deletions_are_read_once_when_if_modified_since_is_ignored(deleting, newest_first):
    sandbox, deleted = deleting(
        450, deleted_if_modified_since=False, deleted_newest_first=newest_first
    )
    first = run_tap(sandbox.tap_config())
    calls = len(_deleted_pages(sandbox))
    survivor = next(iter(sandbox.records(MODULE)))
    sandbox.delete(MODULE, survivor)

    second = run_tap(sandbox.tap_config(), state=first.state)

    assert sorted(first.ids(STREAM, deleted=True)) == deleted
    assert second.ids(STREAM, deleted=True) == [survivor]  # the old ones not again
    # Newest first, a list stops at its first entry older than the bookmark: one call.
    assert len(_deleted_pages(sandbox)) - calls == (1 if newest_first else 3)
