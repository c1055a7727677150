"""The CRM's reference data through tap-zoho | target-clickhouse: readable tables, joinable to deals.

Two real processes and a chDB path of their own (queries run in a helper process: chDB allows
one data path per process).
"""

from __future__ import annotations

from tests.support.compare import query
from tests.support.pipes import pipe_into_clickhouse
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.deal_pipelines import PIPELINES
from tests.zoho_sandbox.reference_options import ReferenceOptions
from tests.zoho_sandbox.seed import default_specs

TABLES = {
    "zoho_crm_users": "users",
    "zoho_crm_roles": "roles",
    "zoho_crm_profiles": "profiles",
    "zoho_crm_territories": "territories",
    "zoho_crm_currencies": "currencies",
    "zoho_crm_org": "org",
}


def deals_sandbox(**options):
    sandbox = Sandbox(
        specs=[s for s in default_specs() if s.api_name == "Deals"],
        reference=ReferenceOptions(**options),
    )
    sandbox.start()
    return sandbox


def expected_count(sandbox, entity: str) -> int:
    world = sandbox.reference.world
    return 1 if entity == "org" else len(getattr(world, entity))


def test_every_reference_entity_lands_in_its_own_table_and_joins_to_deals(tmp_path):
    sandbox = deals_sandbox()
    try:
        pipe_into_clickhouse(tmp_path, sandbox.tap_config(), None)
    finally:
        sandbox.stop()

    ch = tmp_path / "ch"
    for table, entity in TABLES.items():
        assert query(ch, f"SELECT count() FROM {table}_current")[0][0] == expected_count(
            sandbox, entity
        ), table
    stages = sum(len(p[4]) for p in PIPELINES)
    assert query(ch, "SELECT count() FROM zoho_crm_pipeline_stages_current")[0][0] == stages
    deleted = query(ch, "SELECT count() FROM zoho_crm_users_current WHERE status = 'deleted'")
    assert deleted[0][0] == 2
    # Every deal joins to its owner and to its stage in its pipeline.
    joined = query(
        ch,
        "SELECT count(), countIf(u.id != ''), countIf(s.id != '') FROM zoho_deals_current AS d "
        "LEFT JOIN zoho_crm_users_current AS u "
        "ON u.id = JSONExtractString(d.Owner, 'id') "
        "LEFT JOIN zoho_crm_pipeline_stages_current AS s "
        "ON s.pipeline_actual_value = d.Pipeline AND s.actual_value = d.Stage",
    )
    deals = len(sandbox.records("Deals"))
    assert list(joined[0]) == [deals, deals, deals]


def test_with_territories_and_multi_currency_off_the_pipe_succeeds_and_the_rest_arrives(tmp_path):
    sandbox = deals_sandbox(territories_enabled=False, multi_currency=False)
    try:
        pipe_into_clickhouse(tmp_path, sandbox.tap_config(), None)
    finally:
        sandbox.stop()

    ch = tmp_path / "ch"
    tables = {row[0] for row in query(ch, "SELECT name FROM system.tables")}
    for table, entity in TABLES.items():
        if entity in {"territories", "currencies"}:
            continue
        assert query(ch, f"SELECT count() FROM {table}_current")[0][0] == expected_count(
            sandbox, entity
        ), table
    for empty in ("zoho_crm_territories", "zoho_crm_currencies"):
        assert empty not in tables or query(ch, f"SELECT count() FROM {empty}")[0][0] == 0
    org = query(ch, "SELECT mc_status FROM zoho_crm_org_current")
    assert org[0][0] == False  # noqa: E712 - a Bool column may come back as 0
