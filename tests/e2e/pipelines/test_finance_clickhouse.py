"""Books/Inventory through ``tap-zoho | target-clickhouse``: custom fields become columns, and every
stored field equals the sandbox's value (full run, then an incremental one that meets a new field)."""

from __future__ import annotations

from tap_zoho.finance.schemas import CONTACT_SCHEMA, ITEM_SCHEMA, PRICEBOOK_SCHEMA

from tests.support.compare import same, tables_rows_and_queries
from tests.support.finance_compare import expected_columns
from tests.support.pipes import pipe_into_clickhouse as pipe
from tests.zoho_sandbox import BOOKS_ORG, SECOND_ORG
from tests.zoho_sandbox.finance import json_copy, with_formatted_times

RESOURCES = {
    "items": ("item_id", ITEM_SCHEMA),
    "contacts": ("contact_id", CONTACT_SCHEMA),
    "pricebooks": ("pricebook_id", PRICEBOOK_SCHEMA),
}


COLUMNS = "SELECT table, name, type FROM system.columns WHERE database = currentDatabase()"
ORGS = {"books": [BOOKS_ORG], "inventory": [BOOKS_ORG, SECOND_ORG]}
TABLES = {
    f"zoho_{family}_{resource}": (family, resource) for family in ORGS for resource in RESOURCES
}


def read_back(path, tables=TABLES):
    """table -> column -> ClickHouse type (every table), and the rows of ``tables``: one helper
    process (starting the engine is the slow part)."""
    rows, (columns,) = tables_rows_and_queries(
        path, {t: RESOURCES[r][0] for t, (_, r) in tables.items()}, [COLUMNS]
    )
    types: dict[str, dict[str, str]] = {}
    for table, name, kind in columns:
        types.setdefault(table, {})[name] = kind
    return types, rows


def assert_clickhouse_equals_the_sandbox(finance, read, tables=TABLES):
    all_types, all_rows = read
    for table, (family, resource) in tables.items():
        declared = RESOURCES[resource][1]
        stored = all_rows[table]
        properties = {name: {"type": _json_type(kind)} for name, kind in all_types[table].items()}
        properties.update(declared["properties"])
        expected = {}
        for org_id in ORGS[family]:
            for rid, row in getattr(finance.orgs[org_id], resource).items():
                wire = json_copy(row)
                if family == "inventory" and resource == "contacts":
                    wire = with_formatted_times(wire)
                expected[rid] = expected_columns(
                    wire, properties, frozenset(declared["properties"])
                )
        assert stored.keys() == expected.keys(), table
        problems = [
            f"{table} {rid}.{name}: {value!r} != {stored[rid].get(name)!r}"
            for rid, columns in expected.items()
            for name, value in columns.items()
            if not same(value, stored[rid].get(name))
        ]
        assert not problems, problems[:10]


def _json_type(clickhouse_type: str) -> list[str]:
    base = clickhouse_type.removeprefix("Nullable(")
    if base.startswith(("Float", "Decimal", "Int")):
        return ["number", "null"]
    return ["string", "null"]


def test_custom_fields_load_as_columns_and_every_field_equals_the_sandbox(finance, tmp_path):
    config = finance.tap_config(
        crm_enabled=False,
        books_organization_id=BOOKS_ORG,
        inventory_organization_id=[BOOKS_ORG, SECOND_ORG],
    )
    state = pipe(tmp_path, config, None)
    ch = tmp_path / "ch"

    items_only = {"zoho_books_items": TABLES["zoho_books_items"]}
    read = read_back(ch, items_only)
    types = read[0]
    items = types["zoho_books_items"]
    assert items["cf_warranty_months"] == "Nullable(Float64)"
    assert items["cf_launch_date"] == "Nullable(Date32)"
    assert items["cf_hazardous"] == "Nullable(Bool)"
    assert not any(name.endswith("_unformatted") for t in types.values() for name in t)
    assert "cf_colour" in types["zoho_inventory_items"]
    assert "cf_credit_limit" in types["zoho_books_contacts"]
    assert_clickhouse_equals_the_sandbox(finance.finance, read, items_only)

    org = finance.finance.orgs[BOOKS_ORG]
    finance.finance.add_custom_field(BOOKS_ORG, "items", "supplier_code")
    item = sorted(org.items)[4]
    finance.finance.update_item(
        BOOKS_ORG,
        item,
        {"cf_supplier_code": "S-77", "cf_supplier_code_unformatted": "S-77", "reorder_level": ""},
    )
    pipe(tmp_path, config, state)

    read = read_back(ch)
    assert read[0]["zoho_books_items"]["cf_supplier_code"] == "Nullable(String)"
    assert_clickhouse_equals_the_sandbox(finance.finance, read)  # S-77 included
