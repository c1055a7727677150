"""target-tsh-postgres against a real PostgreSQL server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from target_tsh_postgres.errors import BadInputError
from target_tsh_postgres.target import TooManyFailuresError

from tests.support.erp import (
    BOOK_SCHEMA,
    CONTACT_SCHEMA,
    ITEM_SCHEMA,
    connect,
    contact,
    item,
    pricebook,
    query,
    rls_policy,
    run_target,
)


def test_items_from_books_and_inventory_land_in_products_with_their_columns(erp_db, tmp_path):
    _, report, error = run_target(
        erp_db,
        [
            ITEM_SCHEMA,
            item("1"),
            {**ITEM_SCHEMA, "stream": "inventory_items"},
            item("2", stream="inventory_items", status="inactive"),
        ],
        tmp_path,
    )

    assert error is None
    rows = query(
        erp_db,
        "SELECT zoho_item_id, sku, name, unit, price, cost, stock_on_hand, "
        "available_stock, is_active, image_url, brand, category, "
        "source_modified_at::text, zoho_data->>'sku' FROM products ORDER BY 1",
    )
    assert rows[0] == (
        "1",
        "SKU-1",
        "Filter",
        "pcs",
        Decimal("12.500000"),
        Decimal("8.250000"),
        Decimal("4.000000"),
        Decimal("3.000000"),
        True,
        "https://img/1",
        "Bosch",
        "Filters",
        "2024-01-05 04:50:30+00",
        "SKU-1",
    )
    assert rows[1][8] is False
    assert report["tables"]["products"]["inserted"] == 2
    assert report["tables"]["products"]["successful"] == 2
    assert report["tables"]["product_prices"]["successful"] == 2  # each item's base price


def test_only_customer_contacts_become_customers_and_vendors_count_as_skipped(erp_db, tmp_path):
    _, report, _ = run_target(
        erp_db, [CONTACT_SCHEMA, contact("c1"), contact("v1", kind="vendor")], tmp_path
    )

    assert query(
        erp_db, "SELECT zoho_contact_id, name, payment_terms, outstanding_receivable FROM customers"
    ) == [("c1", "Trader c1", 30, Decimal("250.000000"))]
    assert report["tables"]["customers"]["skipped"] == 1


def test_an_older_record_never_overwrites_a_newer_one(erp_db, tmp_path):
    run_target(
        erp_db, [ITEM_SCHEMA, item("1", name="new", modified="2024-02-01T00:00:00+0000")], tmp_path
    )
    _, report, _ = run_target(
        erp_db, [ITEM_SCHEMA, item("1", name="old", modified="2024-01-01T00:00:00+0000")], tmp_path
    )

    assert query(erp_db, "SELECT name FROM products") == [("new",)]
    assert report["tables"]["products"]["unchanged"] == 1


def test_erp_owned_columns_survive_a_sync(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, item("1")], tmp_path)
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE products ADD COLUMN shelf TEXT")
        cur.execute("UPDATE products SET shelf = 'A-7'")
    conn.commit()
    conn.close()

    run_target(
        erp_db,
        [ITEM_SCHEMA, item("1", name="renamed", modified="2024-03-01T00:00:00+0000")],
        tmp_path,
    )

    assert query(erp_db, "SELECT name, shelf FROM products") == [("renamed", "A-7")]


def test_a_batch_holding_one_key_twice_keeps_the_newest(erp_db, tmp_path):
    _, report, error = run_target(
        erp_db,
        [
            ITEM_SCHEMA,
            item("1", name="b", modified="2024-01-02T00:00:00+0000"),
            item("1", name="a", modified="2024-01-01T00:00:00+0000"),
            item("2"),
        ],
        tmp_path,
    )

    assert error is None
    assert query(erp_db, "SELECT name FROM products WHERE zoho_item_id = '1'") == [("b",)]
    assert report["tables"]["products"]["total_processed"] == 3
    assert report["failed"] == 0


def test_with_stock_only_skips_items_without_stock(erp_db, tmp_path):
    _, report, _ = run_target(
        erp_db,
        [ITEM_SCHEMA, item("1"), item("2", stock_on_hand=0.0), item("3", stock_on_hand=None)],
        tmp_path,
        with_stock_only=True,
    )

    assert query(erp_db, "SELECT zoho_item_id FROM products") == [("1",)]
    assert query(erp_db, "SELECT zoho_item_id FROM product_prices") == [("1",)]  # nor their prices
    assert report["skipped"] == 2


def test_price_lists_fill_product_prices_per_item_and_list(erp_db, tmp_path):
    run_target(
        erp_db,
        [BOOK_SCHEMA, pricebook("p1", [("1", 9.5), ("2", 10)]), pricebook("p2", [("1", 8)])],
        tmp_path,
    )

    assert query(
        erp_db, "SELECT zoho_item_id, zoho_pricebook_id, price FROM product_prices ORDER BY 1, 2"
    ) == [
        ("1", "p1", Decimal("9.500000")),
        ("1", "p2", Decimal("8.000000")),
        ("2", "p1", Decimal("10.000000")),
    ]


def test_purchase_price_lists_are_skipped_as_they_hold_no_selling_prices(erp_db, tmp_path):
    purchases = pricebook("p9", [("1", 4.0)])
    purchases["record"]["sales_or_purchase_type"] = "purchases"

    _, report, error = run_target(
        erp_db, [BOOK_SCHEMA, purchases, pricebook("p1", [("1", 9.5)])], tmp_path
    )

    assert error is None
    assert query(erp_db, "SELECT zoho_pricebook_id FROM product_prices") == [("p1",)]
    assert report["tables"]["product_prices"]["skipped"] == 1


def test_each_item_writes_its_base_price_next_to_its_price_list_rows(erp_db, tmp_path):
    run_target(
        erp_db,
        [ITEM_SCHEMA, item("1"), item("2", rate=None), BOOK_SCHEMA, pricebook("p1", [("1", 9.5)])],
        tmp_path,
    )
    run_target(
        erp_db, [ITEM_SCHEMA, item("1", rate=13.75, modified="2024-02-01T00:00:00+0000")], tmp_path
    )

    assert query(
        erp_db,
        "SELECT zoho_item_id, zoho_pricebook_id, pricebook_name, price FROM product_prices "
        "ORDER BY 1, 2",
    ) == [
        ("1", "base", "Base price (item rate)", Decimal("13.750000")),
        ("1", "p1", "List p1", Decimal("9.500000")),
        ("2", "base", "Base price (item rate)", None),
    ]


def test_rows_refused_by_row_level_security_fail_alone_and_are_reported(erp_db, tmp_path):
    run_target(erp_db, [BOOK_SCHEMA], tmp_path)  # creates the tables
    app = rls_policy(erp_db)
    rates = [(str(n), 500 if n in {3, 8} else 10 + n) for n in range(12)]

    states, report, error = run_target(
        app,
        [BOOK_SCHEMA, pricebook("p1", rates), {"type": "STATE", "value": {"done": 1}}],
        tmp_path,
        max_failed_rows=5,
    )

    assert error is None
    assert sorted(int(i) for (i,) in query(erp_db, "SELECT zoho_item_id FROM product_prices")) == [
        n for n in range(12) if n not in {3, 8}
    ]
    assert report["failed"] == 2
    assert report["successful"] == 10
    assert sorted(e["zoho_id"] for e in report["errors"]) == ["3/p1", "8/p1"]
    assert all("row-level security" in e["error"] for e in report["errors"])
    assert report["errors"][0]["name"] == "List p1"
    assert states == [{"done": 1}]


def test_more_refused_rows_than_allowed_fail_the_run_after_committing_the_rest(erp_db, tmp_path):
    run_target(erp_db, [BOOK_SCHEMA], tmp_path)
    app = rls_policy(erp_db)

    _, report, error = run_target(
        app, [BOOK_SCHEMA, pricebook("p1", [("1", 500), ("2", 5)])], tmp_path
    )

    assert isinstance(error, TooManyFailuresError)
    assert query(erp_db, "SELECT zoho_item_id FROM product_prices") == [("2",)]
    assert report["failed"] == 1


def test_a_bad_record_stops_the_run_and_keeps_committed_rows(erp_db, tmp_path):
    states, _, error = run_target(
        erp_db,
        [
            ITEM_SCHEMA,
            item("1"),
            {"type": "STATE", "value": {"n": 1}},
            {"type": "RECORD", "stream": "books_items", "record": {"item_id": "", "name": "no id"}},
            {"type": "STATE", "value": {"n": 2}},
        ],
        tmp_path,
        batch_size_rows=1,
    )

    assert isinstance(error, BadInputError)
    assert "books_items" in str(error)
    assert query(erp_db, "SELECT zoho_item_id FROM products") == [("1",)]
    assert {"n": 2} not in states


@pytest.mark.parametrize("stream", ["leads", "orders"])
def test_streams_without_an_erp_table_are_ignored(erp_db, tmp_path, stream):
    _, report, error = run_target(
        erp_db, [{**ITEM_SCHEMA, "stream": stream}, {**item("1"), "stream": stream}], tmp_path
    )

    assert error is None
    assert report["total_processed"] == 0
