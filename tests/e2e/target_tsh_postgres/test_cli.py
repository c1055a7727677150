"""The target-tsh-postgres command line: kills, SIGTERM, locks that never clear, bad input in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.support.erp import (
    ITEM_SCHEMA,
    hold_row_lock,
    item,
    line_of,
    lock_timeout,
    query,
    run_target,
)


def test_a_lock_that_never_clears_fails_with_one_line_and_no_state_past_the_rows(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, item("1", name="old")], tmp_path)
    lock_timeout(erp_db)
    blocker = hold_row_lock(erp_db, "1")
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
            input="".join(map(line_of, lines)),
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
            process.stdin.write(line_of(message))
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
            process.stdin.write(line_of(message))
        reader.start()
        # A record every 0.2 s (the SDK checks the age on each): far fewer than a batch.
        for n in range(2, 150):
            process.stdin.write(line_of(item(str(n))))
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
        process.stdin.write("".join(map(line_of, messages)))
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


def test_a_bad_record_after_a_batch_in_flight_commits_that_batch_through_the_cli(erp_db, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**erp_db, "batch_size_rows": 1}))
    lines = [ITEM_SCHEMA, item("1"), item("2")]

    done = subprocess.run(
        [str(TARGET), "--config", str(path)],
        input="".join(map(line_of, lines)) + "{not json\n",
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert sorted(query(erp_db, "SELECT zoho_item_id FROM products")) == [("1",), ("2",)]


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
    done = _cli(erp_db, tmp_path, line_of(ITEM_SCHEMA).encode() + b"\xff\xfe\x00garbage\n")

    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr
    lines = [x for x in stderr.splitlines() if x.startswith("target-tsh-postgres: error")]
    assert len(lines) == 1
    assert "not UTF-8" in lines[0]


def test_blank_lines_are_ignored(erp_db, tmp_path):
    data = b"\n" + line_of(ITEM_SCHEMA).encode() + b"   \n" + line_of(item("1")).encode() + b"\n\n"

    done = _cli(erp_db, tmp_path, data + line_of({"type": "STATE", "value": {"n": 1}}).encode())

    assert done.returncode == 0, done.stderr.decode()[-500:]
    assert json.loads(done.stdout.decode().splitlines()[-1]) == {"n": 1}
    assert query(erp_db, "SELECT zoho_item_id FROM products") == [("1",)]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    path = tmp_path / "config.json"
    config = {"host": "127.0.0.1", "port": 9, "database": "erp", "user": "u", "password": "s3cr3t"}
    path.write_text(json.dumps(config))

    done = subprocess.run(
        [str(TARGET), "--config", str(path)],
        input=line_of(ITEM_SCHEMA) + line_of(item("1")),
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
