"""target-tsh-postgres under transient database errors, kills, refused values and same-second edits.

Every test runs against a real PostgreSQL server; kills are real SIGKILLs of the command line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import errors
from target_tsh_postgres.errors import REFUSALS, is_transient

from tests.conftest import connect
from tests.erp.test_erp_target import ITEM_SCHEMA, item, query, run

TARGET = Path(sys.executable).with_name("target-tsh-postgres")


def _line(message) -> str:
    return json.dumps(message) + "\n"


def _lock_timeout(dsn, value="200ms"):
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{dsn["database"]}" SET lock_timeout = %s', (value,))
    conn.close()


def _hold_row_lock(dsn, item_id):
    """An open transaction holding the lock of one products row (like an ERP user editing it)."""
    conn = connect(dsn)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM products WHERE zoho_item_id = %s FOR UPDATE", (item_id,))
    return conn


@pytest.mark.parametrize(
    "error",
    [
        errors.LockNotAvailable,
        errors.QueryCanceled,
        errors.DeadlockDetected,
        errors.SerializationFailure,
        errors.AdminShutdown,
        psycopg2.InterfaceError,
    ],
)
def test_lock_timeouts_deadlocks_serialization_failures_and_lost_connections_are_transient(error):
    assert is_transient(error())
    assert not isinstance(error(), REFUSALS)


@pytest.mark.parametrize(
    "error",
    [
        errors.NumericValueOutOfRange,
        errors.NotNullViolation,
        errors.CheckViolation,
        errors.InsufficientPrivilege,
        errors.RaiseException,
        errors.ProgramLimitExceeded,  # an id too long for its index entry
        errors.StatementTooComplex,  # JSON nested deeper than the server's stack
    ],
)
def test_constraint_rls_and_out_of_range_errors_are_refusals_not_retried(error):
    assert isinstance(error(), REFUSALS)
    assert not is_transient(error())


def test_a_lock_timeout_is_retried_and_the_batch_lands_before_its_state(erp_db, tmp_path, caplog):
    run(erp_db, [ITEM_SCHEMA, item("1", name="old")], tmp_path)
    _lock_timeout(erp_db)
    blocker = _hold_row_lock(erp_db, "1")
    release = threading.Timer(1.5, blocker.commit)
    release.start()
    try:
        states, report, error = run(
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


def test_a_lock_that_never_clears_fails_with_one_line_and_no_state_past_the_rows(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, item("1", name="old")], tmp_path)
    _lock_timeout(erp_db)
    blocker = _hold_row_lock(erp_db, "1")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**erp_db, "write_retry_seconds": 2}))
    lines = [
        ITEM_SCHEMA,
        {"type": "STATE", "value": {"n": 0}},
        item("1", name="new", modified="2024-02-01T00:00:00+0000"),
        {"type": "STATE", "value": {"n": 1}},
    ]
    try:
        done = subprocess.run(
            [str(TARGET), "--config", str(config)],
            input="".join(map(_line, lines)),
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
    finally:
        blocker.close()

    assert done.returncode == 1
    errors_lines = [x for x in done.stderr.splitlines() if x.startswith("target-tsh-postgres: ")]
    assert len(errors_lines) == 1
    assert "products" in errors_lines[0]
    assert "lock timeout" in errors_lines[0]
    assert "Traceback" not in done.stderr
    assert {"n": 1} not in [json.loads(x) for x in done.stdout.splitlines() if x.strip()]
    assert query(erp_db, "SELECT name FROM products") == [("old",)]


def test_a_value_postgres_refuses_is_reported_and_state_stops_before_it(erp_db, tmp_path):
    messages = [
        ITEM_SCHEMA,
        item("1"),
        item("2", rate=1e20),  # NUMERIC(20, 6) holds at most 14 digits before the point
        item("3"),
        {"type": "STATE", "value": {"n": 3}},
    ]

    states, report, error = run(erp_db, messages, tmp_path)

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
    states, report, error = run(erp_db, messages, tmp_path, max_failed_rows=2)

    assert error is None
    assert states == [{"n": 2}]
    assert report["failed"] == 2


def _start(dsn, tmp_path, **config):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**dsn, **config}))
    return subprocess.Popen(
        [str(TARGET), "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )


def _read_state(process, deadline_seconds=30.0):
    """The next STATE line the target writes, waiting at most ``deadline_seconds``."""
    found: list[dict] = []
    reader = threading.Thread(target=lambda: found.append(json.loads(process.stdout.readline())))
    reader.daemon = True
    reader.start()
    reader.join(deadline_seconds)
    assert found, "no STATE within the deadline"
    return found[0]


def _kill(process):
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def test_state_follows_every_committed_batch_so_a_kill_keeps_what_it_covers(erp_db, tmp_path):
    process = _start(erp_db, tmp_path, batch_size_rows=2)
    try:
        for message in [ITEM_SCHEMA, item("1"), {"type": "STATE", "value": {"n": 1}}, item("2")]:
            process.stdin.write(_line(message))
        process.stdin.flush()
        state = _read_state(process)  # the input stays open: the run is still going
    finally:
        _kill(process)

    assert state == {"n": 1}
    assert sorted(query(erp_db, "SELECT zoho_item_id FROM products")) == [("1",), ("2",)]


def test_state_follows_the_flush_interval_when_batches_are_not_full(erp_db, tmp_path):
    process = _start(erp_db, tmp_path, batch_size_rows=1000, flush_interval_seconds=1)
    states: list[dict] = []
    reader = threading.Thread(target=lambda: states.append(json.loads(process.stdout.readline())))
    reader.daemon = True
    try:
        for message in [ITEM_SCHEMA, item("1"), {"type": "STATE", "value": {"n": 1}}]:
            process.stdin.write(_line(message))
        reader.start()
        # A record every 0.2 s (the SDK checks the age on each): far fewer than a batch.
        for n in range(2, 150):
            process.stdin.write(_line(item(str(n))))
            process.stdin.flush()
            reader.join(0.2)
            if states:
                break
    finally:
        _kill(process)

    assert states == [{"n": 1}]
    assert ("1",) in query(erp_db, "SELECT zoho_item_id FROM products")


def test_sigterm_commits_what_was_read_and_emits_the_state_that_covers_it(erp_db, tmp_path):
    import time

    process = _start(erp_db, tmp_path, batch_size_rows=1000, flush_interval_seconds=600)
    try:
        messages = [ITEM_SCHEMA, item("1"), item("2"), {"type": "STATE", "value": {"n": 2}}]
        process.stdin.write("".join(map(_line, messages)))
        process.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the SCHEMA was read once the tables exist
            if query(erp_db, "SELECT to_regclass('products') IS NOT NULL") == [(True,)]:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # the lines after it are in the same buffered read
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            _kill(process)

    assert process.returncode == 0
    assert [json.loads(line) for line in out.splitlines() if line.strip()] == [{"n": 2}]
    assert sorted(query(erp_db, "SELECT zoho_item_id FROM products")) == [("1",), ("2",)]


def _read(name, at, **extra):
    message = item("1", name=name, modified="2024-03-01T10:00:00+0000", **extra)
    if at is not None:
        message["time_extracted"] = at
    return message


def test_a_record_edited_twice_in_one_second_ends_at_its_later_read(erp_db, tmp_path):
    first = [ITEM_SCHEMA, _read("first edit", "2024-03-01T10:00:00.400000+00:00")]
    second = [ITEM_SCHEMA, _read("second edit", "2024-03-01T10:05:00.000000+00:00")]

    run(erp_db, first, tmp_path)
    run(erp_db, second, tmp_path)
    assert query(erp_db, "SELECT name FROM products") == [("second edit",)]

    run(erp_db, first, tmp_path)  # replaying the older file restores nothing
    run(erp_db, [ITEM_SCHEMA, _read("unknown read time", None)], tmp_path)
    assert query(erp_db, "SELECT name FROM products") == [("second edit",)]


def test_the_source_record_keeps_no_singer_metadata(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, _read("x", "2024-03-01T10:00:00+00:00")], tmp_path)

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

    _, report, error = run(erp_db, [ITEM_SCHEMA, _read("x", "2024-03-01T10:00:00+00:00")], tmp_path)

    assert error is None
    assert report["tables"]["products"]["successful"] == 1
    assert query(erp_db, "SELECT source_read_at IS NOT NULL FROM products") == [(True,)]


def test_a_bad_record_after_a_batch_in_flight_commits_that_batch_through_the_cli(erp_db, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**erp_db, "batch_size_rows": 1}))
    lines = [ITEM_SCHEMA, item("1"), item("2")]

    done = subprocess.run(
        [str(TARGET), "--config", str(path)],
        input="".join(map(_line, lines)) + "{not json\n",
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert sorted(query(erp_db, "SELECT zoho_item_id FROM products")) == [("1",), ("2",)]


def test_reading_an_unchanged_record_again_later_writes_nothing(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, _read("same", "2024-03-01T10:00:00+00:00")], tmp_path)

    _, report, _ = run(erp_db, [ITEM_SCHEMA, _read("same", "2024-03-02T10:00:00+00:00")], tmp_path)

    assert report["tables"]["products"]["unchanged"] == 1
    assert report["tables"]["products"]["updated"] == 0


def _cli(dsn, tmp_path, data: bytes):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dsn))
    return subprocess.run(
        [str(TARGET), "--config", str(path)],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_binary_input_is_one_line_and_exit_1(erp_db, tmp_path):
    done = _cli(erp_db, tmp_path, _line(ITEM_SCHEMA).encode() + b"\xff\xfe\x00garbage\n")

    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    lines = [x for x in stderr.splitlines() if x.startswith("target-tsh-postgres: error")]
    assert len(lines) == 1
    assert "not UTF-8" in lines[0]


def test_blank_lines_are_ignored(erp_db, tmp_path):
    data = b"\n" + _line(ITEM_SCHEMA).encode() + b"   \n" + _line(item("1")).encode() + b"\n\n"

    done = _cli(erp_db, tmp_path, data + _line({"type": "STATE", "value": {"n": 1}}).encode())

    assert done.returncode == 0, done.stderr.decode()[-500:]
    assert json.loads(done.stdout.decode().splitlines()[-1]) == {"n": 1}
    assert query(erp_db, "SELECT zoho_item_id FROM products") == [("1",)]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    path = tmp_path / "config.json"
    config = {"host": "127.0.0.1", "port": 9, "database": "erp", "user": "u", "password": "s3cr3t"}
    path.write_text(json.dumps(config))

    done = subprocess.run(
        [str(TARGET), "--config", str(path)],
        input=_line(ITEM_SCHEMA) + _line(item("1")),
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("target-tsh-postgres: error: cannot connect to the ERP database")
    assert "127.0.0.1" in last
    assert "s3cr3t" not in done.stderr
    assert "Traceback" not in done.stderr
