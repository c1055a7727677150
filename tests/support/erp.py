"""target-tsh-postgres in this process: ERP messages, runs, database helpers.

The server is :class:`tests.support.pgserver.PgServer`, started once per test process by the
``pg_server`` fixture; each test gets its own database (``erp_db``).
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg2

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
    """A books_items RECORD (an Inventory item with stream="inventory_items")."""
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


def run_target(
    dsn: dict, messages: list[dict], tmp_path: Path, **config: Any
) -> tuple[list[dict], dict | None, Exception | None]:
    """Feed ``messages`` to target-tsh-postgres in-process: STATE values, report, refusal."""
    from singer_sdk.exceptions import MissingKeyPropertiesError
    from target_tsh_postgres.errors import BadInputError
    from target_tsh_postgres.target import TargetTshPostgres, TooManyFailuresError

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


def connect(dsn: dict) -> Any:
    """A psycopg2 connection from target-style settings."""
    return psycopg2.connect(
        host=dsn["host"], port=dsn["port"], user=dsn["user"], dbname=dsn["database"]
    )


def query(dsn: dict, sql: str, *params: Any) -> list[tuple]:
    """The rows of one query (a connection of its own)."""
    conn = connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def new_database(pg_server: Any) -> dict[str, Any]:
    """Create an empty database on ``pg_server``; return target-tsh-postgres settings."""
    name = f"erp_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(
        host="127.0.0.1", port=pg_server.port, user="postgres", dbname="postgres"
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return pg_server.dsn(name)


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


def line_of(message: dict) -> str:
    """One Singer message as a line of a target's standard input."""
    return json.dumps(message) + "\n"


def read_of_item_1(name: str, at: str | None, **extra: Any) -> dict:
    """Item "1" as read at ``at`` (its ``time_extracted``), always modified at the same second."""
    message = item("1", name=name, modified="2024-03-01T10:00:00+0000", **extra)
    if at is not None:
        message["time_extracted"] = at
    return message


def lock_timeout(dsn: dict, value: str = "200ms") -> None:
    """Make lock waits of every new session on ``dsn`` fail after ``value``."""
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{dsn["database"]}" SET lock_timeout = %s', (value,))
    conn.close()


def hold_row_lock(dsn: dict, item_id: str) -> Any:
    """An open transaction holding the lock of one products row (like an ERP user editing it)."""
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM products WHERE zoho_item_id = %s FOR UPDATE", (item_id,))
    return conn
