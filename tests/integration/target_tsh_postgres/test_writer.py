"""target-tsh-postgres's writer: retried locks, refused values, STATE only after its rows commit."""

from __future__ import annotations

import threading

from tests.support.erp import (
    ITEM_SCHEMA,
    connect,
    hold_row_lock,
    item,
    lock_timeout,
    query,
    read_of_item_1,
    run_target,
)


def test_a_lock_timeout_is_retried_and_the_batch_lands_before_its_state(erp_db, tmp_path, caplog):
    run_target(erp_db, [ITEM_SCHEMA, item("1", name="old")], tmp_path)
    lock_timeout(erp_db)
    blocker = hold_row_lock(erp_db, "1")
    release = threading.Timer(1.5, blocker.commit)
    release.start()
    try:
        states, report, error = run_target(
            erp_db,
            [
                ITEM_SCHEMA,
                item("1", name="new", modified="2024-02-01T00:00:00+0000"),
                {"type": "STATE", "value": {"n": 1}},
            ],
            tmp_path,
            write_retry_seconds=30,
        )
    finally:
        release.join()
        blocker.close()

    assert error is None
    assert states == [{"n": 1}]
    assert report["failed"] == 0
    assert query(erp_db, "SELECT name FROM products") == [("new",)]
    retries = [r for r in caplog.records if "attempt" in r.getMessage()]
    assert retries
    assert all(r.levelname == "WARNING" for r in retries)


def test_a_value_postgres_refuses_is_reported_and_state_stops_before_it(erp_db, tmp_path):
    messages = [
        ITEM_SCHEMA,
        item("1"),
        item("2", rate=1e20),  # NUMERIC(20, 6) holds at most 14 digits before the point
        item("3"),
        {"type": "STATE", "value": {"n": 3}},
    ]

    states, report, error = run_target(erp_db, messages, tmp_path)

    assert error is not None
    assert "max_failed_rows" in str(error)
    assert states == []
    assert sorted(query(erp_db, "SELECT zoho_item_id FROM products")) == [("1",), ("3",)]
    refused = {(e["table"], e["zoho_id"]) for e in report["errors"]}
    assert refused == {("products", "2"), ("product_prices", "2/base")}
    assert all("numeric field overflow" in e["error"] for e in report["errors"])


def test_within_max_failed_rows_state_moves_past_the_refused_row(erp_db, tmp_path):
    messages = [ITEM_SCHEMA, item("1", rate=1e20), item("2"), {"type": "STATE", "value": {"n": 2}}]

    # The product row and its base-price row both hold the rate: two refusals.
    states, report, error = run_target(erp_db, messages, tmp_path, max_failed_rows=2)

    assert error is None
    assert states == [{"n": 2}]
    assert report["failed"] == 2


def test_the_source_record_keeps_no_singer_metadata(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, read_of_item_1("x", "2024-03-01T10:00:00+00:00")], tmp_path)

    ((data,),) = query(erp_db, "SELECT zoho_data FROM products")
    assert not [key for key in data if key.startswith("_sdc_")]
    assert data["item_id"] == "1"


def test_a_table_from_an_older_version_gains_the_read_time_column(erp_db, tmp_path):
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE products (id BIGSERIAL PRIMARY KEY, zoho_item_id TEXT NOT NULL UNIQUE,"
            " organization_id TEXT, sku TEXT, name TEXT, description TEXT, unit TEXT,"
            " price NUMERIC(20,6), cost NUMERIC(20,6), stock_on_hand NUMERIC(20,6),"
            " available_stock NUMERIC(20,6), is_active BOOLEAN, image_url TEXT, brand TEXT,"
            " category TEXT, source_modified_at TIMESTAMPTZ, zoho_data JSONB,"
            " last_synced TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
    conn.commit()
    conn.close()

    _, report, error = run_target(
        erp_db, [ITEM_SCHEMA, read_of_item_1("x", "2024-03-01T10:00:00+00:00")], tmp_path
    )

    assert error is None
    assert report["tables"]["products"]["successful"] == 1
    assert query(erp_db, "SELECT source_read_at IS NOT NULL FROM products") == [(True,)]


def test_reading_an_unchanged_record_again_later_writes_nothing(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, read_of_item_1("same", "2024-03-01T10:00:00+00:00")], tmp_path)

    _, report, _ = run_target(
        erp_db, [ITEM_SCHEMA, read_of_item_1("same", "2024-03-02T10:00:00+00:00")], tmp_path
    )

    assert report["tables"]["products"]["unchanged"] == 1
    assert report["tables"]["products"]["updated"] == 0
