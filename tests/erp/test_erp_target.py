"""target-tsh-postgres against a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from singer_sdk.exceptions import MissingKeyPropertiesError
from target_tsh_postgres.errors import BadInputError
from target_tsh_postgres.target import TargetTshPostgres, TooManyFailuresError

from tests.conftest import connect

ITEM_SCHEMA = {
    "type": "SCHEMA",
    "stream": "books_items",
    "key_properties": ["item_id"],
    "bookmark_properties": ["last_modified_time"],
    "schema": {"properties": {"item_id": {"type": ["string"]}}},
}
CONTACT_SCHEMA = {
    "type": "SCHEMA",
    "stream": "books_contacts",
    "key_properties": ["contact_id"],
    "schema": {"properties": {"contact_id": {"type": ["string"]}}},
}
BOOK_SCHEMA = {
    "type": "SCHEMA",
    "stream": "inventory_pricebooks",
    "key_properties": ["pricebook_id"],
    "schema": {"properties": {"pricebook_id": {"type": ["string"]}}},
}


def item(iid, name="Filter", modified="2024-01-05T10:20:30+0530", stream="books_items", **extra):
    record = {
        "item_id": iid,
        "name": name,
        "sku": f"SKU-{iid}",
        "status": "active",
        "rate": 12.5,
        "purchase_rate": 8.25,
        "stock_on_hand": 4.0,
        "available_stock": 3.0,
        "unit": "pcs",
        "brand": "Bosch",
        "category_name": "Filters",
        "image_url": f"https://img/{iid}",
        "organization_id": "10234695",
        "last_modified_time": modified,
        **extra,
    }
    return {"type": "RECORD", "stream": stream, "record": record}


def contact(cid, kind="customer", modified="2024-01-05T10:20:30+0530", **extra):
    return {
        "type": "RECORD",
        "stream": "books_contacts",
        "record": {
            "contact_id": cid,
            "contact_name": f"Trader {cid}",
            "contact_type": kind,
            "status": "active",
            "email": "t@example.org",
            "payment_terms": 30,
            "outstanding_receivable_amount": 250.0,
            "last_modified_time": modified,
            **extra,
        },
    }


def pricebook(book_id, rates):
    return {
        "type": "RECORD",
        "stream": "inventory_pricebooks",
        "record": {
            "pricebook_id": book_id,
            "name": f"List {book_id}",
            "currency_code": "USD",
            "organization_id": "10234695",
            "pricebook_items": [{"item_id": iid, "pricebook_rate": rate} for iid, rate in rates],
        },
    }


def run(dsn, messages, tmp_path, **config):
    report_path = tmp_path / "report.json"
    out = io.StringIO()
    error = None
    with contextlib.redirect_stdout(out):
        target = TargetTshPostgres(config={**dsn, "report_path": str(report_path), **config})
        try:
            target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in messages)))
        except (TooManyFailuresError, BadInputError, MissingKeyPropertiesError) as exc:
            error = exc
            target.writer.close()  # the batch in flight commits, as when the process exits
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return states, report, error


def query(dsn, sql, *params):
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def test_items_from_books_and_inventory_land_in_products_with_their_columns(erp_db, tmp_path):
    _, report, error = run(
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
    _, report, _ = run(
        erp_db, [CONTACT_SCHEMA, contact("c1"), contact("v1", kind="vendor")], tmp_path
    )

    assert query(
        erp_db, "SELECT zoho_contact_id, name, payment_terms, outstanding_receivable FROM customers"
    ) == [("c1", "Trader c1", 30, Decimal("250.000000"))]
    assert report["tables"]["customers"]["skipped"] == 1


def test_an_older_record_never_overwrites_a_newer_one(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, item("1", name="new", modified="2024-02-01T00:00:00+0000")], tmp_path)
    _, report, _ = run(
        erp_db, [ITEM_SCHEMA, item("1", name="old", modified="2024-01-01T00:00:00+0000")], tmp_path
    )

    assert query(erp_db, "SELECT name FROM products") == [("new",)]
    assert report["tables"]["products"]["unchanged"] == 1


def test_erp_owned_columns_survive_a_sync(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, item("1")], tmp_path)
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE products ADD COLUMN shelf TEXT")
        cur.execute("UPDATE products SET shelf = 'A-7'")
    conn.commit()
    conn.close()

    run(
        erp_db,
        [ITEM_SCHEMA, item("1", name="renamed", modified="2024-03-01T00:00:00+0000")],
        tmp_path,
    )

    assert query(erp_db, "SELECT name, shelf FROM products") == [("renamed", "A-7")]


def test_a_batch_holding_one_key_twice_keeps_the_newest(erp_db, tmp_path):
    _, report, error = run(
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
    _, report, _ = run(
        erp_db,
        [ITEM_SCHEMA, item("1"), item("2", stock_on_hand=0.0), item("3", stock_on_hand=None)],
        tmp_path,
        with_stock_only=True,
    )

    assert query(erp_db, "SELECT zoho_item_id FROM products") == [("1",)]
    assert query(erp_db, "SELECT zoho_item_id FROM product_prices") == [("1",)]  # nor their prices
    assert report["skipped"] == 2


def test_price_lists_fill_product_prices_per_item_and_list(erp_db, tmp_path):
    run(
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

    _, report, error = run(
        erp_db, [BOOK_SCHEMA, purchases, pricebook("p1", [("1", 9.5)])], tmp_path
    )

    assert error is None
    assert query(erp_db, "SELECT zoho_pricebook_id FROM product_prices") == [("p1",)]
    assert report["tables"]["product_prices"]["skipped"] == 1


def test_each_item_writes_its_base_price_next_to_its_price_list_rows(erp_db, tmp_path):
    run(
        erp_db,
        [ITEM_SCHEMA, item("1"), item("2", rate=None), BOOK_SCHEMA, pricebook("p1", [("1", 9.5)])],
        tmp_path,
    )
    run(erp_db, [ITEM_SCHEMA, item("1", rate=13.75, modified="2024-02-01T00:00:00+0000")], tmp_path)

    assert query(
        erp_db,
        "SELECT zoho_item_id, zoho_pricebook_id, pricebook_name, price FROM product_prices "
        "ORDER BY 1, 2",
    ) == [
        ("1", "base", "Base price (item rate)", Decimal("13.750000")),
        ("1", "p1", "List p1", Decimal("9.500000")),
        ("2", "base", "Base price (item rate)", None),
    ]


def rls_policy(dsn):
    """As in the legacy incident: a row-level security policy refuses some product_prices rows.

    Superusers bypass row-level security, so the target then connects as an ordinary role.
    """
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'erp_app') "
            "THEN CREATE ROLE erp_app LOGIN; END IF; END $$"
        )
        cur.execute("GRANT ALL ON SCHEMA public TO erp_app")
        cur.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO erp_app")
        cur.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO erp_app")
        cur.execute("ALTER TABLE product_prices ENABLE ROW LEVEL SECURITY")
        cur.execute(
            "CREATE POLICY cheap_only ON product_prices USING (true) WITH CHECK (price < 100)"
        )
    conn.commit()
    conn.close()
    return {**dsn, "user": "erp_app"}


def test_rows_refused_by_row_level_security_fail_alone_and_are_reported(erp_db, tmp_path):
    run(erp_db, [BOOK_SCHEMA], tmp_path)  # creates the tables
    app = rls_policy(erp_db)
    rates = [(str(n), 500 if n in {3, 8} else 10 + n) for n in range(12)]

    states, report, error = run(
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
    run(erp_db, [BOOK_SCHEMA], tmp_path)
    app = rls_policy(erp_db)

    _, report, error = run(app, [BOOK_SCHEMA, pricebook("p1", [("1", 500), ("2", 5)])], tmp_path)

    assert isinstance(error, TooManyFailuresError)
    assert query(erp_db, "SELECT zoho_item_id FROM product_prices") == [("2",)]
    assert report["failed"] == 1


def test_a_bad_record_stops_the_run_and_keeps_committed_rows(erp_db, tmp_path):
    states, _, error = run(
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


TARGET = Path(sys.executable).with_name("target-tsh-postgres")


def test_the_cli_prints_one_json_summary_line_and_one_error_line(erp_db, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**erp_db, "password": "s3cret-pw", "max_failed_rows": 0}))
    lines = "".join(json.dumps(m) + "\n" for m in [ITEM_SCHEMA, item("1"), item("2")])
    ok = subprocess.run(
        [str(TARGET), "--config", str(config)],
        input=lines,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    bad = subprocess.run(
        [str(TARGET), "--config", str(config)],
        input=lines + "{not json\n",
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert ok.returncode == 0, ok.stderr[-2000:]
    summary = [json.loads(x) for x in ok.stderr.splitlines() if x.startswith("{")]
    assert summary[-1]["tables"]["products"]["successful"] == 2
    assert set(summary[-1]) >= {
        "total_processed",
        "successful",
        "failed",
        "skipped",
        "errors",
        "duration_seconds",
        "tables",
    }
    assert bad.returncode == 1
    assert (
        len([x for x in bad.stderr.splitlines() if x.startswith("target-tsh-postgres: error")]) == 1
    )
    assert "s3cret-pw" not in ok.stderr + bad.stderr


@pytest.mark.parametrize("stream", ["leads", "orders"])
def test_streams_without_an_erp_table_are_ignored(erp_db, tmp_path, stream):
    _, report, error = run(
        erp_db, [{**ITEM_SCHEMA, "stream": stream}, {**item("1"), "stream": stream}], tmp_path
    )

    assert error is None
    assert report["total_processed"] == 0
