"""CRM reference data as streams: users, roles, profiles, territories, currencies, the
organisation, Deals pipelines and their stages (shared/zoho-api.md 2.4), compared with the
sandbox's store."""

from __future__ import annotations

import copy
import logging
import re

import pytest
from jsonschema import Draft7Validator

from tests.support.tap import run_tap
from tests.zoho_sandbox import REFRESH_TOKEN, Sandbox
from tests.zoho_sandbox.reference_options import ReferenceOptions
from tests.zoho_sandbox.seed import default_specs

REFERENCE = {
    "crm-users",
    "crm-roles",
    "crm-profiles",
    "crm-territories",
    "crm-currencies",
    "crm-org",
    "crm-pipelines",
    "crm-pipeline_stages",
}
KINDS = (
    "crm_users",
    "crm_roles",
    "crm_profiles",
    "crm_territories",
    "crm_currencies",
    "crm_org",
    "crm_layouts",
    "crm_pipelines",
)


def deals_world(**options):
    sandbox = Sandbox(
        specs=[s for s in default_specs() if s.api_name == "Deals"],
        reference=ReferenceOptions(**options),
    )
    sandbox.start()
    return sandbox


@pytest.fixture
def world():
    sandbox = deals_world()
    yield sandbox
    sandbox.stop()


def by_key(records, *keys):
    return {tuple(r[k] for k in keys): r for r in records}


def expected_territories(sandbox):
    users = sandbox.reference.world.users
    out = copy.deepcopy(sandbox.reference.world.territories)
    for territory in out:
        if territory["manager"]:
            user = users[territory["manager"]["id"]]
            territory["manager"].update(zuid=user["zuid"], status=user["status"])
    return out


def expected_pipelines(sandbox):
    names = {layout["id"]: layout["name"] for layout in sandbox.reference.world.layouts}
    return [
        {**pipeline, "layout_id": layout, "layout_name": names[layout]}
        for layout, pipelines in sandbox.reference.world.pipelines.items()
        for pipeline in pipelines
    ]


def expected_stages(sandbox, *, probabilities=True):
    fields = {f.api_name: f for f in sandbox.store.modules["Deals"].fields}
    picklist = fields["Stage"].extra["pick_list_values"]
    probability = {v["id"]: v.get("probability") for v in picklist}
    return [
        {
            **stage,
            "layout_id": pipeline["layout_id"],
            "pipeline_id": pipeline["id"],
            "pipeline_display_value": pipeline["display_value"],
            "pipeline_actual_value": pipeline["actual_value"],
            "probability": probability[stage["id"]] if probabilities else None,
        }
        for pipeline in expected_pipelines(sandbox)
        for stage in pipeline["maps"]
    ]


def warnings_naming(caplog, text):
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and text in r.getMessage()
    ]


# ---------------------------------------------------------------------------- full sync
def test_a_full_sync_with_defaults_delivers_every_reference_entity_with_every_field(world):
    run = run_tap(world.tap_config())

    assert run.error is None
    ref = world.reference.world
    assert set(run.records) >= REFERENCE
    assert by_key(run.records["crm-users"], "id") == by_key(ref.users.values(), "id")
    assert len(run.records["crm-users"]) == len(ref.users)  # each user once, deleted ones too
    assert run.records["crm-roles"] == ref.roles
    assert by_key(run.records["crm-profiles"], "id") == by_key(ref.profiles, "id")  # Lite too
    assert run.records["crm-territories"] == expected_territories(world)
    assert run.records["crm-currencies"] == ref.currencies
    assert run.records["crm-org"] == [ref.org]
    assert by_key(run.records["crm-pipelines"], "layout_id", "id") == by_key(
        expected_pipelines(world), "layout_id", "id"
    )
    assert by_key(run.records["crm-pipeline_stages"], "layout_id", "pipeline_id", "id") == by_key(
        expected_stages(world), "layout_id", "pipeline_id", "id"
    )


def test_every_reference_record_conforms_to_the_schema_emitted_for_it(world):
    run = run_tap(world.tap_config())
    validators = {}
    problems = []
    for message in run.messages:
        if message["type"] == "SCHEMA":
            validators[message["stream"]] = Draft7Validator(
                message["schema"], format_checker=Draft7Validator.FORMAT_CHECKER
            )
        elif message["type"] == "RECORD" and message["stream"] in REFERENCE:
            problems += [
                f"{message['stream']}: {e.message}"
                for e in validators[message["stream"]].iter_errors(message["record"])
            ]
    schemas = {s: run.schemas[s]["properties"] for s in REFERENCE}
    assert problems == []
    assert schemas["crm-users"]["Modified_Time"]["format"] == "date-time"
    assert schemas["crm-users"]["dob"]["format"] == "date"
    assert "string" in schemas["crm-currencies"]["exchange_rate"]["type"]  # a string in Zoho


def test_keys_and_replication(world):
    run = run_tap(world.tap_config())
    keys = {
        m["stream"]: (m["key_properties"], m.get("bookmark_properties"))
        for m in run.messages
        if m["type"] == "SCHEMA" and m["stream"] in REFERENCE
    }
    assert keys["crm-users"] == (["id"], ["Modified_Time"])
    assert keys["crm-roles"][0] == ["id"]
    assert keys["crm-pipelines"][0] == ["layout_id", "id"]
    assert keys["crm-pipeline_stages"][0] == ["layout_id", "pipeline_id", "id"]


def test_reference_stream_names_can_never_be_a_module_stream_name():
    module_name = re.compile(r"[a-z][a-z0-9_]*")
    assert not any(module_name.fullmatch(name) for name in REFERENCE)


# ---------------------------------------------------------------------------- calls
def test_a_full_read_costs_eight_calls_plus_one_per_deals_layout(world):
    run = run_tap(world.tap_config(crm_modules=["Deals"]))

    layouts = len(world.reference.world.layouts)
    calls = {kind: world.stats.requests[kind] for kind in KINDS}
    assert calls == {
        "crm_users": 2,  # AllUsers, then DeletedUsers (AllUsers may leave them out)
        "crm_roles": 1,
        "crm_profiles": 1,
        "crm_territories": 1,
        "crm_currencies": 1,
        "crm_org": 1,
        "crm_layouts": 1,
        "crm_pipelines": layouts,
    }
    assert sum(calls.values()) == 8 + layouts
    assert world.stats.requests["fields"] == 1  # discovery's Deals metadata: the probabilities
    assert run.summary["credits_used"] == world.stats.credits
    reported = {r["stream"]: r for r in run.summary["reference_streams"]}
    assert reported["crm-users"]["record_count"] == len(world.reference.world.users)
    pipeline_calls = reported["crm-pipelines"]["calls"] + reported["crm-pipeline_stages"]["calls"]
    assert pipeline_calls == 1 + layouts  # one read serves both streams
    assert run.summary["synced_modules"] == [
        {"module": "Deals", "record_count": len(world.records("Deals")), "deleted_count": 0}
    ]


def test_without_the_deals_module_the_stage_probabilities_cost_one_settings_call():
    sandbox = Sandbox(specs=[s for s in default_specs() if s.api_name in {"Deals", "Accounts"}])
    sandbox.start()
    try:
        run = run_tap(sandbox.tap_config(crm_modules=["Accounts"]))
        stages = run.records["crm-pipeline_stages"]
        assert {s["probability"] for s in stages} >= {0, 10, 100}
        assert sandbox.stats.requests["fields"] == 2  # Accounts (discovery) and Deals
    finally:
        sandbox.stop()


def test_the_credit_budget_stops_reference_streams_cleanly(world):
    run = run_tap(world.tap_config(crm_modules=["Deals"], max_api_credits=4))

    assert run.error is None
    assert world.stats.credits <= 4
    assert run.summary["cut_short_modules"]


# ---------------------------------------------------------------------------- incremental users
def test_users_are_read_incrementally_by_if_modified_since(world):
    config = world.tap_config(crm_modules=["Deals"])
    first = run_tap(config)
    second = run_tap(config, state=first.state)

    assert second.records["crm-users"] == []  # 304: nothing modified since
    answers = [s for _, kind, path, s in world.stats.log if path.endswith("/users")]
    assert 304 in answers

    some = sorted(world.reference.world.users)[3]
    world.reference.update_user(some, {"mobile": "+1 555 0100"})
    third = run_tap(config, state=second.state)

    assert [u["id"] for u in third.records["crm-users"]] == [some]
    assert third.records["crm-users"][0]["mobile"] == "+1 555 0100"
    ims = [h for p, _, h in world.reference.calls if p.endswith("/users") and h]
    assert len(ims) >= 2  # the second and third runs asked with If-Modified-Since


def test_a_user_deleted_since_the_last_run_arrives_with_status_deleted(world):
    config = world.tap_config(crm_modules=["Deals"])
    first = run_tap(config)
    active = next(u for u in world.reference.world.users.values() if u["status"] == "active")
    world.reference.delete_user(active["id"])  # its Modified_Time does not move

    second = run_tap(config, state=first.state)

    assert [(u["id"], u["status"]) for u in second.records["crm-users"]] == [
        (active["id"], "deleted")
    ]
    third = run_tap(config, state=second.state)
    assert third.records["crm-users"] == []  # not emitted again while unchanged


def test_a_user_modified_in_the_second_being_read_is_read_again_by_the_next_run(world):
    config = world.tap_config(crm_modules=["Deals"])
    first = run_tap(config)
    world.store.clock.pin()  # Zoho's clock stays in the second of the edit while it is read
    some = sorted(world.reference.world.users)[1]
    world.reference.update_user(some, {"mobile": "+1 555 0199"})

    second = run_tap(config, state=first.state)
    world.store.clock.unpin()
    third = run_tap(config, state=second.state)
    fourth = run_tap(config, state=third.state)

    assert [u["id"] for u in second.records["crm-users"]] == [some]
    assert [u["id"] for u in third.records["crm-users"]] == [some]  # not settled: read again
    assert fourth.records["crm-users"] == []


def test_optional_parameters_zoho_refuses_are_dropped_at_one_more_call_each():
    sandbox = deals_world(refused_params={"include_types", "include_inner_details"})
    try:
        run = run_tap(sandbox.tap_config(crm_modules=["Deals"]))
        refused = sandbox.stats.requests["INVALID_DATA"]
        calls = sandbox.stats.requests
    finally:
        sandbox.stop()

    assert run.error is None
    assert refused == 2
    assert calls["crm_profiles"] == calls["crm_territories"] == 1
    assert {p["type"] for p in run.records["crm-profiles"]} == {"normal_profile"}
    managers = [t["manager"] for t in run.records["crm-territories"] if t["manager"]]
    assert managers
    assert all(set(m) == {"id", "name"} for m in managers)


@pytest.mark.parametrize(
    "reading",
    [
        {"all_users_include_deleted": True},
        {"users_newest_first": True},
        {"users_modified_since_inclusive": True},
        {"users_not_modified_status": 204},
        {"deletion_touches_user": True},
    ],
    ids=lambda reading: next(iter(reading)),
)
def test_users_arrive_once_and_completely_under_either_reading_of_the_unconfirmed_points(reading):
    sandbox = deals_world(**reading)
    try:
        config = sandbox.tap_config(crm_modules=["Deals"])
        first = run_tap(config)
        assert sorted(u["id"] for u in first.records["crm-users"]) == sorted(
            sandbox.reference.world.users
        )
        assert run_tap(config, state=first.state).records["crm-users"] == []
        victim = sorted(sandbox.reference.world.users)[2]
        sandbox.reference.delete_user(victim)
        second = run_tap(config, state=first.state)
        assert [(u["id"], u["status"]) for u in second.records["crm-users"]] == [
            (victim, "deleted")
        ]
    finally:
        sandbox.stop()


# ---------------------------------------------------------------------------- features off
def test_territories_and_multi_currency_off_empty_their_streams_with_one_warning_each(caplog):
    caplog.set_level(logging.WARNING)
    sandbox = deals_world(territories_enabled=False, multi_currency=False)
    try:
        run = run_tap(sandbox.tap_config())
    finally:
        sandbox.stop()

    assert run.error is None
    assert run.summary["success"] is True
    assert run.records["crm-territories"] == []
    assert run.records["crm-currencies"] == []
    assert len(warnings_naming(caplog, "crm-territories")) == 1
    assert "Territory Management" in warnings_naming(caplog, "crm-territories")[0]
    assert len(warnings_naming(caplog, "crm-currencies")) == 1
    assert "multi-currency" in warnings_naming(caplog, "crm-currencies")[0].lower()
    arrived = {s for s in REFERENCE if run.records[s]}
    assert arrived == REFERENCE - {"crm-territories", "crm-currencies"}
    assert run.records["deals"]


@pytest.mark.parametrize(
    ("scope", "streams"),
    [
        ("users", {"crm-users"}),
        ("org", {"crm-org"}),
        ("settings.roles", {"crm-roles"}),
        ("settings.profiles", {"crm-profiles"}),
        ("settings.territories", {"crm-territories"}),
        ("settings.currencies", {"crm-currencies"}),
        ("settings.layouts", {"crm-pipelines", "crm-pipeline_stages"}),
        ("settings.pipeline", {"crm-pipelines", "crm-pipeline_stages"}),
    ],
)
def test_a_missing_scope_empties_its_streams_with_one_warning_naming_it(
    world, caplog, scope, streams
):
    caplog.set_level(logging.WARNING)
    world.deny_scope(scope)

    run = run_tap(world.tap_config(strict_modules=True))

    assert run.error is None
    assert all(run.records[s] == [] for s in streams)
    assert all(run.records[s] for s in REFERENCE - streams)
    assert len(warnings_naming(caplog, f"ZohoCRM.{scope}.READ")) == 1


@pytest.mark.parametrize("granted", [False, True])
def test_settings_read_alone_reads_pipelines_exactly_when_zoho_grants_it(granted, caplog):
    caplog.set_level(logging.WARNING)
    sandbox = deals_world(settings_read_grants_pipeline=granted)
    scopes = "ZohoCRM.modules.READ ZohoCRM.settings.READ ZohoCRM.users.READ ZohoCRM.org.READ"
    sandbox.accounts.set_scopes(REFRESH_TOKEN, scopes)
    try:
        run = run_tap(sandbox.tap_config())
        expected = expected_pipelines(sandbox)
    finally:
        sandbox.stop()

    assert run.error is None
    assert len(run.records["crm-pipelines"]) == (len(expected) if granted else 0)
    assert len(warnings_naming(caplog, "ZohoCRM.settings.pipeline.READ")) == (0 if granted else 1)


def test_a_profile_without_permission_empties_roles_and_profiles_with_one_warning_each(caplog):
    caplog.set_level(logging.WARNING)
    sandbox = deals_world(refused={"roles", "profiles", "users"})
    try:
        run = run_tap(sandbox.tap_config(strict_modules=True))
    finally:
        sandbox.stop()

    assert run.error is None
    for stream in ("crm-roles", "crm-profiles", "crm-users"):
        assert run.records[stream] == []
        assert len(warnings_naming(caplog, stream)) == 1
    assert "Crm_Implied_Manage_Profiles" in warnings_naming(caplog, "crm-profiles")[0]
    assert run.records["crm-org"]


# ---------------------------------------------------------------------------- pipelines
def test_a_pipeline_under_two_layouts_is_kept_once_per_layout():
    sandbox = deals_world(shared_pipeline=True)
    try:
        run = run_tap(sandbox.tap_config(crm_modules=["Deals"]))
        expected = expected_pipelines(sandbox)
    finally:
        sandbox.stop()

    rows = run.records["crm-pipelines"]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) + 1  # the same pipeline id twice ...
    assert len(by_key(rows, "layout_id", "id")) == len(rows)  # ... under two layouts
    assert len(rows) == len(expected) + 1
    stages = run.records["crm-pipeline_stages"]
    assert len(by_key(stages, "layout_id", "pipeline_id", "id")) == len(stages)


def test_sub_pipelines_arrive_with_their_parent():
    sandbox = deals_world(sub_pipelines=True)
    try:
        run = run_tap(sandbox.tap_config(crm_modules=["Deals"]))
    finally:
        sandbox.stop()

    children = [p for p in run.records["crm-pipelines"] if p.get("parent")]
    assert [c["parent"]["name"] for c in children] == ["Standard"]
    assert {p["child_available"] for p in run.records["crm-pipelines"]} == {True, False}


def test_stages_without_probabilities_in_the_stage_picklist_arrive_with_null(world):
    world.reference.set_stage_probabilities(on=False)

    run = run_tap(world.tap_config(crm_modules=["Deals"]))

    assert {s["probability"] for s in run.records["crm-pipeline_stages"]} == {None}
    assert by_key(run.records["crm-pipeline_stages"], "layout_id", "pipeline_id", "id") == by_key(
        expected_stages(world, probabilities=False), "layout_id", "pipeline_id", "id"
    )


def test_the_same_stage_sits_in_three_pipelines_at_its_own_position_in_each(world):
    run = run_tap(world.tap_config(crm_modules=["Deals"]))

    negotiation = [
        (s["pipeline_actual_value"], s["sequence_number"])
        for s in run.records["crm-pipeline_stages"]
        if s["actual_value"] == "Negotiation/Review"
    ]
    assert sorted(negotiation) == [("Fast Track", 2), ("Renewals", 3), ("Standard", 6)]


def test_every_owner_of_a_deal_is_a_user_of_the_users_stream(world):
    run = run_tap(world.tap_config(crm_modules=["Deals"]))

    users = {u["id"]: u for u in run.records["crm-users"]}
    owners = {d["Owner"]["id"] for d in run.records["deals"]}
    assert owners <= set(users)
    assert "deleted" in {users[o]["status"] for o in owners}
