"""The sandbox serves the organisation's reference data as shared/zoho-api.md 2.4 says Zoho does."""

from __future__ import annotations

import weakref

import pytest
import requests

from tests.zoho_sandbox import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Sandbox
from tests.zoho_sandbox.deal_pipelines import LAYOUT_PARTNER, LAYOUT_STANDARD, PIPELINES
from tests.zoho_sandbox.reference_options import ReferenceOptions
from tests.zoho_sandbox.seed import default_specs


def deals_only():
    return [spec for spec in default_specs() if spec.api_name == "Deals"]


@pytest.fixture
def world():
    sandbox = Sandbox(specs=deals_only())
    sandbox.start()
    yield sandbox
    sandbox.stop()


def session_for(sandbox):
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    answer = requests.post(f"{sandbox.base_url}/oauth/v2/token", data=form, timeout=5).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {answer['access_token']}"
    return session, answer


SESSIONS: weakref.WeakKeyDictionary[Sandbox, requests.Session] = weakref.WeakKeyDictionary()


def get(sandbox, path, headers=None, fresh=False, **params):
    """GET with one token per sandbox (Zoho mints 10 per 10 minutes); ``fresh`` after a scope edit."""
    if fresh or sandbox not in SESSIONS:
        SESSIONS[sandbox] = session_for(sandbox)[0]
    return SESSIONS[sandbox].get(
        f"{sandbox.base_url}/crm/v8/{path}", params=params, headers=headers or {}, timeout=5
    )


def error(response):
    body = response.json()
    return response.status_code, body["code"], body["details"]


# ---------------------------------------------------------------------------------- users
def test_users_default_to_all_users_without_the_deleted_ones_which_only_deleted_users_lists(world):
    statuses = {u["id"]: u["status"] for u in world.reference.world.users.values()}
    listed = get(world, "users").json()["users"]
    deleted = get(world, "users", type="DeletedUsers").json()["users"]

    assert {u["id"] for u in listed} == {i for i, s in statuses.items() if s != "deleted"}
    assert {u["status"] for u in listed} == {"active", "inactive"}
    assert {u["id"] for u in deleted} == {i for i, s in statuses.items() if s == "deleted"}
    assert len(statuses) == 26
    assert sorted(statuses.values()).count("active") == 21
    assert [u["id"] for u in listed] == sorted(u["id"] for u in listed)  # id order


def test_the_other_reading_lists_deleted_users_under_all_users_too():
    sandbox = Sandbox(specs=[], reference=ReferenceOptions(all_users_include_deleted=True))
    sandbox.start()
    try:
        assert len(get(sandbox, "users").json()["users"]) == 26
    finally:
        sandbox.stop()


def test_a_deleted_user_is_still_read_by_id(world):
    (deleted, *_) = get(world, "users", type="DeletedUsers").json()["users"]
    assert get(world, f"users/{deleted['id']}").json()["users"] == [deleted]
    assert error(get(world, "users/5843104000000999999"))[:2] == (400, "INVALID_DATA")


def test_user_types_outside_the_documented_ones_are_refused(world):
    assert error(get(world, "users", type="ChildRoleUsers")) == (
        400,
        "INVALID_DATA",
        {"param_name": "type"},
    )
    assert {u["status"] for u in get(world, "users", type="DeactiveUsers").json()["users"]} == {
        "inactive"
    }
    unconfirmed = get(world, "users", type="NotConfirmedUsers").json()["users"]
    assert unconfirmed
    assert not any(u["confirm"] for u in unconfirmed)


def test_users_page_by_at_most_two_hundred_and_answer_204_past_the_end(world):
    first = get(world, "users", per_page="10").json()
    assert first["info"] == {"per_page": 10, "count": 10, "page": 1, "more_records": True}
    third = get(world, "users", per_page="10", page="3").json()
    assert third["info"]["more_records"] is False
    assert get(world, "users", per_page="10", page="4").status_code == 204
    assert error(get(world, "users", per_page="201"))[:2] == (400, "INVALID_DATA")


def test_if_modified_since_lists_users_modified_strictly_later_and_304_when_none(world):
    users = world.reference.world.users
    newest = max(u["Modified_Time"] for u in users.values())
    assert get(world, "users", headers={"If-Modified-Since": newest}).status_code == 304
    some = sorted(users)[4]
    world.reference.update_user(some, {"mobile": "+1 555 0100"})

    changed = get(world, "users", headers={"If-Modified-Since": newest}).json()["users"]

    assert [u["id"] for u in changed] == [some]
    assert changed[0]["mobile"] == "+1 555 0100"
    assert changed[0]["Modified_Time"] > newest


# ---------------------------------------------------------------------------------- settings
def test_roles_come_whole_without_info_and_form_a_four_level_hierarchy(world):
    body = get(world, "settings/roles").json()
    assert set(body) == {"roles"}
    roles = {r["id"]: r for r in body["roles"]}
    (top,) = [r for r in roles.values() if r["reporting_to"] is None]
    assert top["name"] == "CEO"
    assert top["created_by__s"] is None

    def depth(role):
        parent = role["reporting_to"]
        return 1 if parent is None else 1 + depth(roles[parent["id"]])

    assert len(roles) == 9
    assert max(depth(r) for r in roles.values()) == 4


def test_profiles_filter_by_type_page_and_list_lite_profiles_only_when_asked(world):
    default = get(world, "settings/profiles").json()
    assert len(default["profiles"]) == 5
    assert "license_limit" in default["info"]
    with_lite = get(world, "settings/profiles", include_types="Lite").json()["profiles"]
    assert {p["type"] for p in with_lite} == {"normal_profile", "lite_profile"}
    assert get(world, "settings/profiles", type="private_profile").status_code == 204
    assert error(get(world, "settings/profiles", type="lite")) == (
        400,
        "INVALID_DATA",
        {"param_name": "type"},
    )
    assert error(get(world, "settings/profiles", per_page="201"))[:2] == (400, "INVALID_DATA")


def test_territories_page_up_to_two_thousand_under_one_root(world):
    body = get(world, "settings/territories", per_page="2000").json()
    territories = body["territories"]
    assert len(territories) == 8
    assert [t["name"] for t in territories if t["reporting_to"] is None] == ["Global"]
    assert error(get(world, "settings/territories", per_page="2001"))[:2] == (400, "INVALID_DATA")
    detailed = get(world, "settings/territories", include_inner_details="manager.zuid")
    managers = [t["manager"] for t in detailed.json()["territories"] if t["manager"]]
    assert all(set(m) == {"name", "id", "zuid"} for m in managers)


def test_territory_management_off_is_400_feature_not_enabled_at_no_credit(world):
    world.reference.options.territories_enabled = False
    before = world.stats.credits
    assert error(get(world, "settings/territories")) == (400, "FEATURE_NOT_ENABLED", {})
    assert world.stats.credits == before


def test_currencies_carry_string_rates_and_multi_currency_off_is_403(world):
    currencies = get(world, "org/currencies").json()["currencies"]
    assert [c["iso_code"] for c in currencies if c["is_base"]] == ["INR"]
    assert all(isinstance(c["exchange_rate"], str) for c in currencies)
    assert get(world, "org").json()["org"][0]["mc_status"] is True

    world.reference.options.multi_currency = False

    assert error(get(world, "org/currencies"))[:2] == (403, "CURRENCIES_NOT_ENABLED")
    assert get(world, "org").json()["org"][0]["mc_status"] is False


def test_the_organisation_is_an_array_of_one(world):
    (org,) = get(world, "org").json()["org"]
    assert org["iso_code"] == "INR"


def test_layouts_need_a_module_and_deals_has_several(world):
    assert error(get(world, "settings/layouts")) == (
        400,
        "REQUIRED_PARAM_MISSING",
        {"param_name": "module"},
    )
    assert error(get(world, "settings/layouts", module="Nope"))[1] == "INVALID_MODULE"
    assert len(get(world, "settings/layouts", module="Deals").json()["layouts"]) == 3


def test_pipelines_need_a_deals_layout_and_share_stages_at_other_positions(world):
    assert error(get(world, "settings/pipeline"))[1] == "REQUIRED_PARAM_MISSING"
    assert error(get(world, "settings/pipeline", layout_id="1")) == (
        400,
        "INVALID_DATA",
        {"param_name": "layout_id"},
    )
    assert get(world, "settings/pipeline", layout_id=LAYOUT_PARTNER).status_code == 204
    positions = {}
    for layout in {p[3] for p in PIPELINES}:
        for pipeline in get(world, "settings/pipeline", layout_id=layout).json()["pipeline"]:
            for stage in pipeline["maps"]:
                positions.setdefault(stage["id"], []).append(stage["sequence_number"])
    assert sorted(positions["5843104000000007111"]) == [2, 3, 6]  # Negotiation/Review
    assert len(positions) == 12


def test_a_layout_of_another_module_is_not_a_pipeline_layout():
    specs = [s for s in default_specs() if s.api_name in {"Deals", "Accounts"}]
    sandbox = Sandbox(specs=specs)
    sandbox.start()
    try:
        (layout,) = get(sandbox, "settings/layouts", module="Accounts").json()["layouts"]
        answer = get(sandbox, "settings/pipeline", layout_id=layout["id"])
        assert error(answer)[:2] == (400, "INVALID_DATA")
    finally:
        sandbox.stop()


# ---------------------------------------------------------------------------------- scopes
@pytest.mark.parametrize(
    ("scope", "path", "params"),
    [
        ("users", "users", {}),
        ("org", "org", {}),
        ("settings.roles", "settings/roles", {}),
        ("settings.profiles", "settings/profiles", {}),
        ("settings.territories", "settings/territories", {}),
        ("settings.currencies", "org/currencies", {}),
        ("settings.layouts", "settings/layouts", {"module": "Deals"}),
        ("settings.pipeline", "settings/pipeline", {"layout_id": LAYOUT_STANDARD}),
    ],
)
def test_each_endpoint_answers_401_without_its_scope(world, scope, path, params):
    assert get(world, path, **params).status_code == 200
    world.deny_scope(scope)

    answer = get(world, path, fresh=True, **params)

    assert error(answer) == (401, "OAUTH_SCOPE_MISMATCH", {})
    assert f"ZohoCRM.{scope}.READ" not in session_for(world)[1]["scope"]
    assert get(world, "settings/fields", module="Deals").status_code == 200  # the rest still works


def test_settings_read_grants_the_pipeline_api_only_under_that_reading(world):
    world.accounts.set_scopes(REFRESH_TOKEN, "ZohoCRM.settings.READ ZohoCRM.modules.READ")
    assert get(world, "settings/roles", fresh=True).status_code == 200
    assert error(get(world, "settings/pipeline", layout_id=LAYOUT_STANDARD))[0] == 401

    world.reference.options.settings_read_grants_pipeline = True

    assert get(world, "settings/pipeline", layout_id=LAYOUT_STANDARD).status_code == 200


def test_a_profile_without_the_permission_is_refused_at_no_credit(world):
    world.reference.options.refused = {"roles", "profiles"}
    before = world.stats.credits
    assert error(get(world, "settings/roles"))[:2] == (400, "AUTHORIZATION_FAILED")
    assert error(get(world, "settings/profiles")) == (
        403,
        "NO_PERMISSION",
        {"permissions": ["Crm_Implied_Manage_Profiles"]},
    )
    assert world.stats.credits == before


def test_every_call_answered_below_400_costs_one_credit_under_its_kind(world):
    before = world.stats.credits
    get(world, "users")
    get(world, "users", headers={"If-Modified-Since": "2030-01-01T00:00:00+00:00"})  # 304
    get(world, "settings/pipeline", layout_id=LAYOUT_PARTNER)  # 204
    get(world, "settings/roles")
    assert world.stats.credits - before == 4
    assert world.stats.requests["crm_users"] == 2
    assert world.stats.requests["crm_pipelines"] == 1


# ---------------------------------------------------------------------------------- records
def test_deals_move_through_their_pipelines_stages_and_are_owned_by_listed_users(world):
    stages = {name: set(names) for _, name, _, _, names in PIPELINES}
    users = world.reference.world.users
    deals = world.records("Deals").values()

    assert all(d["Stage"] in stages[d["Pipeline"]] for d in deals)
    assert {d["Pipeline"] for d in deals} == set(stages)
    assert {users[d["Owner"]["id"]]["status"] for d in deals} == {"active", "inactive", "deleted"}
    assert all(users[d["Owner"]["id"]]["full_name"] == d["Owner"]["name"] for d in deals)


def test_the_deals_stage_picklist_carries_probabilities_unless_told_otherwise(world):
    def stage_values():
        fields = get(world, "settings/fields", module="Deals").json()["fields"]
        (stage,) = [f for f in fields if f["api_name"] == "Stage"]
        return stage["pick_list_values"]

    assert {v["probability"] for v in stage_values()} >= {0, 10, 100}
    world.reference.set_stage_probabilities(on=False)
    assert not any("probability" in v for v in stage_values())


def test_parameters_the_other_reading_refuses_answer_invalid_data(world):
    world.reference.options.refused_params = {"include_types"}
    assert error(get(world, "settings/profiles", include_types="Lite")) == (
        400,
        "INVALID_DATA",
        {"param_name": "include_types"},
    )
    assert get(world, "settings/profiles").status_code == 200
