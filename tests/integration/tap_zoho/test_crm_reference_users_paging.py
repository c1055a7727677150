"""Users are paged by position (``page`` / ``per_page`` <= 200, no tokens; contract 2.4), so a
user that leaves ``type=AllUsers`` while the listing runs (deleted, in the reading where
``AllUsers`` leaves deleted users out) shifts the users after it back by one: the one first on the
next page is on no page read. crm-users reads a listing of more than one page again until two
passes agree, and moves its bookmark only then."""

from __future__ import annotations

import logging

import pytest

from tests.support.reference_data import add_users, listed_users
from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.reference_options import ReferenceOptions
from tests.zoho_sandbox.seed import completion_specs

USERS_PATH = "/crm/v8/users"


def crowded(**options):
    """A sandbox with 250 more users than its seed: two pages of ``AllUsers``."""
    sandbox = Sandbox(specs=completion_specs(5, 0), reference=ReferenceOptions(**options))
    sandbox.start()
    add_users(sandbox, 250)
    return sandbox


def config(sandbox):
    return sandbox.tap_config(crm_modules=["Leads"], crm_include_deleted=False)


def user_calls(sandbox, kind):
    return [q for p, q, _ in sandbox.reference.calls if p == USERS_PATH and q.get("type") == kind]


def victim_on_page_one(sandbox):
    """A user on the first page of AllUsers whose removal shifts every later user back."""
    return listed_users(sandbox)[10]["id"]


@pytest.mark.parametrize(
    "reading",
    [{}, {"users_newest_first": True}, {"users_newest_first": True, "deletion_touches_user": True}],
    ids=["id-order", "newest-first", "newest-first-deletion-touches"],
)
def test_a_user_deleted_while_users_are_paged_shifts_no_other_user_out_of_the_stream(reading):
    sandbox = crowded(**reading)
    try:
        users = sandbox.reference.world.users
        if reading:  # newest first, as the sandbox orders them
            modified = sandbox.reference.world.user_modified
            first_page = sorted(users, key=lambda u: (-modified[u], int(u)))
            victim = next(u for u in first_page[:150] if users[u]["status"] != "deleted")
        else:
            victim = victim_on_page_one(sandbox)
        sandbox.on_path_call(USERS_PATH, 2, lambda: sandbox.reference.delete_user(victim))
        first = run_tap(config(sandbox))
        second = run_tap(config(sandbox), state=first.state)
    finally:
        sandbox.stop()

    assert first.error is None, first.error
    assert second.error is None, second.error
    emitted = {r["id"] for r in [*first.records["crm-users"], *second.records["crm-users"]]}
    assert set(users) - emitted == set()
    assert set(users) == {r["id"] for r in first.records["crm-users"]}  # all in the first run


def test_a_listing_of_several_pages_is_read_twice_when_nothing_moves_and_thrice_when_it_does():
    calm, moving = crowded(), crowded()
    try:
        run_tap(config(calm))
        victim = victim_on_page_one(moving)
        moving.on_path_call(USERS_PATH, 2, lambda: moving.reference.delete_user(victim))
        run = run_tap(config(moving))
        emitted = [r["id"] for r in run.records["crm-users"]]
    finally:
        calm.stop()
        moving.stop()

    pages = [int(q.get("page", 1)) for q in user_calls(calm, "AllUsers")]
    assert pages == [1, 2, 1, 2]  # two passes of two pages: the second confirms the first
    assert len(user_calls(calm, "DeletedUsers")) == 1  # two deleted users: one page, one pass
    assert [int(q.get("page", 1)) for q in user_calls(moving, "AllUsers")] == [1, 2] * 3
    deleted = [r for r in run.records["crm-users"] if r["id"] == victim]
    assert [u["status"] for u in deleted] == ["active", "deleted"]  # read, then deleted
    assert len(emitted) == len(set(emitted)) + 1  # a user read again unchanged is not emitted


def test_an_incremental_run_of_one_page_reads_users_once():
    sandbox = crowded()
    try:
        first = run_tap(config(sandbox))
        before = len(sandbox.reference.calls)
        sandbox.reference.update_user(victim_on_page_one(sandbox), {"mobile": "+1 555 0100"})
        second = run_tap(config(sandbox), state=first.state)
        calls = sandbox.reference.calls[before:]
    finally:
        sandbox.stop()

    assert [r["mobile"] for r in second.records["crm-users"]] == ["+1 555 0100"]
    assert [q.get("type") for p, q, _ in calls if p == USERS_PATH] == ["AllUsers", "DeletedUsers"]


def test_users_that_never_stop_moving_leave_the_bookmark_where_it_was(caplog):
    caplog.set_level(logging.INFO)
    sandbox = crowded()
    try:
        first = run_tap(config(sandbox))
        bookmark = first.state["bookmarks"]["crm-users"]["replication_key_value"]
        for user in sandbox.reference.world.users:  # every user is listed again
            sandbox.reference.update_user(user, {"mobile": "+1 555 0199"})
        victims = [u["id"] for u in listed_users(sandbox)[10:15]]
        for n, victim in enumerate(victims):  # a deletion between the pages of every pass
            sandbox.on_path_call(
                USERS_PATH, 2 * n + 2, lambda v=victim: sandbox.reference.delete_user(v)
            )
        second = run_tap(config(sandbox), state=first.state)
        passes = len(user_calls(sandbox, "AllUsers")) - 4
    finally:
        sandbox.stop()

    assert second.error is None, second.error
    assert passes == 5 * 2  # five passes of two pages, then it gives up
    assert second.state["bookmarks"]["crm-users"]["replication_key_value"] == bookmark
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("kept changing while they were paged" in m and bookmark in m for m in warned)
