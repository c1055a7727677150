"""The CRM's reference data through tap-zoho | target-clickhouse: readable tables, joinable to deals.

Two real processes and a chDB path of their own (queries run in one helper process: chDB allows
one data path per process, and starting the engine is the slow part).
"""

from __future__ import annotations

from tests.support.compare import queries
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

# Every deal joins to its owner and to its stage in its pipeline.
DEALS_JOINED = (
    "SELECT count(), countIf(u.id != ''), countIf(s.id != '') FROM zoho_deals_current AS d "
    "LEFT JOIN zoho_crm_users_current AS u "
    "ON u.id = JSONExtractString(d.Owner, 'id') "
    "LEFT JOIN zoho_crm_pipeline_stages_current AS s "
    "ON s.pipeline_actual_value = d.Pipeline AND s.actual_value = d.Stage"
)


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

    *counts, stages, deleted, joined = queries(
        tmp_path / "ch",
        [
            *(f"SELECT count() FROM {table}_current" for table in TABLES),
            "SELECT count() FROM zoho_crm_pipeline_stages_current",
            "SELECT count() FROM zoho_crm_users_current WHERE status = 'deleted'",
            DEALS_JOINED,
        ],
    )
    for (table, entity), count in zip(TABLES.items(), counts, strict=True):
        assert count[0][0] == expected_count(sandbox, entity), table
    assert stages[0][0] == sum(len(p[4]) for p in PIPELINES)
    assert deleted[0][0] == 2
    deals = len(sandbox.records("Deals"))
    assert list(joined[0]) == [deals, deals, deals]


def test_with_territories_and_multi_currency_off_the_pipe_succeeds_and_the_rest_arrives(tmp_path):
    sandbox = deals_sandbox(territories_enabled=False, multi_currency=False)
    try:
        pipe_into_clickhouse(tmp_path, sandbox.tap_config(), None)
    finally:
        sandbox.stop()

    kept = {table: entity for table, entity in TABLES.items()
            if entity not in {"territories", "currencies"}}  # fmt: skip
    tables, org, *counts = queries(
        tmp_path / "ch",
        [
            "SELECT name FROM system.tables",
            "SELECT mc_status FROM zoho_crm_org_current",
            *(f"SELECT count() FROM {table}_current" for table in kept),
        ],
    )
    for (table, entity), count in zip(kept.items(), counts, strict=True):
        assert count[0][0] == expected_count(sandbox, entity), table
    present = {row[0] for row in tables}
    empty = [table for table in ("zoho_crm_territories", "zoho_crm_currencies") if table in present]
    if empty:
        assert queries(tmp_path / "ch", [f"SELECT count() FROM {t}" for t in empty]) == [
            [[0]] for _ in empty
        ]
    assert org[0][0] == False  # noqa: E712 - a Bool column may come back as 0
