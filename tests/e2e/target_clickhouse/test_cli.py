"""The target-clickhouse command line: bad input ends in one clear line, committed rows stay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import clickhouse_connect
import pytest

TARGET = Path(sys.executable).with_name("target-clickhouse")
SCHEMA = {
    "type": "SCHEMA",
    "stream": "leads",
    "key_properties": ["id"],
    "schema": {"properties": {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}},
}


def run(tmp_path, lines, **config):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(tmp_path / "data"), "batch_size_rows": 1, **config}))
    text = "".join(line if isinstance(line, str) else json.dumps(line) + "\n" for line in lines)
    return subprocess.run(
        [str(TARGET), "--config", str(cfg)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def error_lines(result):
    return [x for x in result.stderr.splitlines() if x.startswith("target-clickhouse: error:")]


def count_rows(tmp_path):
    client = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path / "data"))
    try:
        return client.query("SELECT count() FROM default.leads").result_rows[0][0]
    finally:
        client.close()


def test_a_record_before_its_schema_is_one_clear_error(tmp_path):
    result = run(tmp_path, [{"type": "RECORD", "stream": "leads", "record": {"id": "1"}}])

    assert result.returncode == 1
    assert "before a corresponding schema" in error_lines(result)[0]
    assert "leads" in error_lines(result)[0]


def test_invalid_json_is_one_clear_error_and_committed_rows_stay(tmp_path):
    good = {"type": "RECORD", "stream": "leads", "record": {"id": "1", "n": 1}}
    state = {"type": "STATE", "value": {"n": 1}}
    result = run(tmp_path, [SCHEMA, good, '{"type": "RECORD", "stream": "le\n', state])

    assert result.returncode == 1
    assert "invalid JSON" in error_lines(result)[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # no STATE for data that was not written
    assert count_rows(tmp_path) == 1


def test_a_value_that_breaks_its_column_names_stream_column_and_value(tmp_path):
    good = {"type": "RECORD", "stream": "leads", "record": {"id": "1", "n": 1}}
    bad = {"type": "RECORD", "stream": "leads", "record": {"id": "2", "n": "lots"}}
    result = run(
        tmp_path,
        [
            SCHEMA,
            good,
            {"type": "STATE", "value": {"ok": 1}},
            bad,
            {"type": "STATE", "value": {"ok": 2}},
        ],
    )

    assert result.returncode == 1
    line = error_lines(result)[0]
    assert "'leads'" in line
    assert "'n'" in line
    assert "'lots'" in line
    assert '{"ok": 2}' not in result.stdout
    assert count_rows(tmp_path) == 1


def test_a_null_key_is_refused(tmp_path):
    result = run(tmp_path, [SCHEMA, {"type": "RECORD", "stream": "leads", "record": {"id": None}}])

    assert result.returncode == 1
    assert "'id'" in error_lines(result)[0]


MONEY_SCHEMA = {
    "type": "SCHEMA",
    "stream": "leads",
    "key_properties": ["id"],
    "schema": {
        "properties": {
            "id": {"type": ["string"]},
            "n": {"type": ["integer", "null"]},
            "amount": {
                "type": ["number", "null"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"precision": 8, "scale": 2},
            },
            "at": {"type": ["string", "null"], "format": "date-time"},
            "day": {"type": ["string", "null"], "format": "date"},
        }
    },
}


@pytest.mark.parametrize("path", ["raw", "dicts"])
@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("n", "", "''"),
        ("n", 9223372036854775808, "9223372036854775808"),
        ("amount", 123456789.5, "123456789.5"),
        ("amount", 462.519, "462.519"),
        ("at", "not a date", "'not a date'"),
        ("at", "2024-02-30T10:00:00Z", "'2024-02-30T10:00:00Z'"),
        ("day", "2024-02-30", "'2024-02-30'"),
        ("day", "2024-02-29 and more", "'2024-02-29 and more'"),
    ],
)
def test_a_bad_value_is_one_line_and_earlier_batches_stay(tmp_path, path, column, value, shown):
    good = {"type": "RECORD", "stream": "leads", "record": {"id": "1", "amount": 462.51}}
    bad = {"type": "RECORD", "stream": "leads", "record": {"id": "2", column: value}}
    extra = {"validate_records": False} if path == "raw" else {"add_record_metadata": True}
    lines = [MONEY_SCHEMA, good, {"type": "STATE", "value": {"ok": 1}}, bad]
    result = run(tmp_path, [*lines, {"type": "STATE", "value": {"ok": 2}}], **extra)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = error_lines(result)[0]
    assert "'leads'" in line
    assert f"'{column}'" in line
    assert shown in line
    assert '{"ok": 2}' not in result.stdout
    assert count_rows(tmp_path) == 1


def test_a_missing_key_is_refused_on_the_raw_path(tmp_path):
    result = run(tmp_path, [SCHEMA, {"type": "RECORD", "stream": "leads", "record": {"n": 1}}])

    assert result.returncode == 1
    assert "missing key property 'id'" in error_lines(result)[0]


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path):
    result = run(tmp_path, [SCHEMA], host="127.0.0.1", port=1, password="s3cret-pw")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot connect to ClickHouse at 127.0.0.1:1" in error_lines(result)[0]
    assert "s3cret-pw" not in result.stderr


def test_binary_input_is_one_line(tmp_path):
    good = {"type": "RECORD", "stream": "leads", "record": {"id": "1", "n": 1}}
    binary = b'{"type": "RECORD", "stream": "leads", "record": {"id": "\xff\xfe"}}\n'
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"path": str(tmp_path / "data")}))
    lines = (json.dumps(SCHEMA) + "\n" + json.dumps(good) + "\n").encode() + binary
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    result = subprocess.run(
        [str(TARGET), "--config", str(cfg)],
        input=lines,
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "TMPDIR": str(spool_dir)},
    )

    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in stderr
    assert "not UTF-8" in stderr
    assert [p.name for p in spool_dir.iterdir() if p.name.startswith("target-clickhouse")] == []
