"""The sandbox pages users, profiles and territories by position, as contract 2.4 says Zoho does:
``page`` (default 1) and ``per_page`` (default 200; at most 200, territories 2,000), ``info``
with ``more_records``, 204 past the end, no page token; each page is cut from the listing as it
is when that page is asked for, so a row that leaves the listing shifts the rows after it."""

from __future__ import annotations

import pytest

from tests.support.reference_data import add_rows, add_users, listed_users
from tests.support.sandbox_api import SandboxApi
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.reference_options import ReferenceOptions


@pytest.fixture
def crowd():
    """A sandbox with 400 users to list (two full pages) in the default reading."""
    sandbox = Sandbox(specs=[])
    sandbox.start()
    add_users(sandbox, 400 - len(listed_users(sandbox)))
    yield sandbox
    sandbox.stop()


def get(sandbox, path, **params):
    return SandboxApi.signed_in(sandbox).get(f"/crm/v8/{path}", **params)


def ids(response):
    return [u["id"] for u in response.json()["users"]]


def test_users_default_to_page_one_of_two_hundred_and_say_whether_more_follow(crowd):
    first = get(crowd, "users")
    second = get(crowd, "users", page="2")

    assert first.json()["info"] == {"per_page": 200, "count": 200, "page": 1, "more_records": True}
    assert second.json()["info"] == {
        "per_page": 200,
        "count": 200,
        "page": 2,
        "more_records": False,
    }
    assert "next_page_token" not in first.json()["info"]
    assert ids(first) + ids(second) == [u["id"] for u in listed_users(crowd)]
    assert get(crowd, "users", page="3").status_code == 204
    refused = get(crowd, "users", page="0")
    assert (refused.status_code, refused.json()["code"]) == (400, "INVALID_DATA")


def test_a_user_deleted_between_two_pages_shifts_the_next_user_onto_the_page_already_read(crowd):
    listed = [u["id"] for u in listed_users(crowd)]
    first = ids(get(crowd, "users"))
    crowd.reference.delete_user(listed[10])

    second = ids(get(crowd, "users", page="2"))

    assert first == listed[:200]
    assert second == listed[201:]  # listed[200] moved to position 199: on no page read
    assert listed[10] in ids(get(crowd, "users", type="DeletedUsers"))


def test_where_all_users_keeps_deleted_users_a_deletion_shifts_nothing():
    sandbox = Sandbox(specs=[], reference=ReferenceOptions(all_users_include_deleted=True))
    sandbox.start()
    try:
        add_users(sandbox, 400 - len(sandbox.reference.world.users))
        everyone = sorted(sandbox.reference.world.users, key=int)
        first = ids(get(sandbox, "users"))
        sandbox.reference.delete_user(everyone[10])
        second = get(sandbox, "users", page="2").json()["users"]
    finally:
        sandbox.stop()

    assert first + [u["id"] for u in second] == everyone
    assert sandbox.reference.world.users[everyone[10]]["status"] == "deleted"


def test_newest_first_an_edit_moves_a_user_to_the_front_and_a_deletion_moves_the_rest_back():
    options = ReferenceOptions(users_newest_first=True, deletion_touches_user=True)
    sandbox = Sandbox(specs=[], reference=options)
    sandbox.start()
    try:
        add_users(sandbox, 400 - len(listed_users(sandbox)))
        before = ids(get(sandbox, "users")) + ids(get(sandbox, "users", page="2"))
        sandbox.reference.update_user(before[300], {"mobile": "+1 555 0100"})
        moved = ids(get(sandbox, "users"))
        sandbox.reference.delete_user(moved[5])  # touched, but gone from AllUsers in this reading
        after = ids(get(sandbox, "users")) + ids(get(sandbox, "users", page="2"))
    finally:
        sandbox.stop()

    assert moved[0] == before[300]
    assert moved[1:] == before[:199]
    assert len(after) == 399
    assert moved[5] not in after


def test_profiles_page_by_position_and_a_removed_profile_shifts_the_rest():
    sandbox = Sandbox(specs=[])
    sandbox.start()
    try:
        add_rows(sandbox, "profiles", 200)  # 205 listed by default
        first = get(sandbox, "settings/profiles").json()
        page_one = [p["id"] for p in first["profiles"]]
        sandbox.reference.remove("profiles", page_one[3])
        second = [p["id"] for p in get(sandbox, "settings/profiles", page="2").json()["profiles"]]
        listed = [p["id"] for p in sandbox.reference.world.profiles if p["type"] != "lite_profile"]
    finally:
        sandbox.stop()

    assert first["info"]["per_page"] == 200
    assert first["info"]["more_records"] is True
    assert second == listed[200:]
    shifted = listed[199]  # was first on page 2, now last on page 1: no page read shows it
    assert shifted not in page_one
    assert shifted not in second


def test_territories_page_by_up_to_two_thousand_with_two_hundred_by_default():
    sandbox = Sandbox(specs=[])
    sandbox.start()
    try:
        add_rows(sandbox, "territories", 2000)
        default = get(sandbox, "settings/territories").json()["info"]
        largest = get(sandbox, "settings/territories", per_page="2000").json()
        rest = get(sandbox, "settings/territories", per_page="2000", page="2").json()
        past = get(sandbox, "settings/territories", per_page="2000", page="3")
    finally:
        sandbox.stop()

    assert default == {"per_page": 200, "count": 200, "page": 1, "more_records": True}
    assert largest["info"]["count"] == 2000
    assert largest["info"]["more_records"] is True
    assert rest["info"] == {"per_page": 2000, "count": 8, "page": 2, "more_records": False}
    assert past.status_code == 204
