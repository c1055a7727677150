"""Distinct stream names always get distinct, readable tables, the same ones in every run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import clickhouse_connect
import pytest
from target_clickhouse import ddl

from tests.support.clickhouse import record, rows, run_target, schema_message

pytestmark = pytest.mark.usefixtures("load_path")

ALIKE = ["le-ads", "le;ads", "le_ads", "le ads"]  # all sanitise to zoho_le_ads
PROPS = {"id": {"type": ["string"]}, "stream": {"type": ["string", "null"]}}


def messages(streams: list[str], tag: str = "") -> list[dict]:
    out: list[dict] = []
    for stream in streams:
        out.append(schema_message(stream, PROPS, ["id"]))
        out.append(record(stream, {"id": f"{stream}{tag}", "stream": stream}))
    return out


def tables_by_stream(ch, database: str) -> dict[str, str]:
    """Which table holds which stream's rows (each table must hold one stream only)."""
    found: dict[str, str] = {}
    for (table,) in rows(
        ch,
        "SELECT name FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree'",
        d=database,
    ):
        streams = {s for (s,) in rows(ch, f"SELECT DISTINCT stream FROM {database}.`{table}`")}
        assert len(streams) == 1, f"{table} holds {streams}"
        found[streams.pop()] = table
    return found


def test_streams_whose_names_sanitise_alike_get_distinct_tables(ch, database, target_config):
    run_target(target_config(database, table_prefix="zoho_"), messages(ALIKE))

    tables = tables_by_stream(ch, database)
    assert set(tables) == set(ALIKE)
    assert tables["le-ads"] == "zoho_le_ads"  # the first keeps the plain name
    for stream in ALIKE[1:]:
        assert tables[stream] == f"zoho_le_ads_{ddl.short_hash(stream)}"


def test_the_same_streams_keep_their_tables_in_every_run_whatever_their_order(
    ch, database, target_config
):
    config = target_config(database, table_prefix="zoho_")
    run_target(config, messages(ALIKE[:2]))
    first = tables_by_stream(ch, database)
    run_target(config, messages(list(reversed(ALIKE)), tag="-again"))

    again = tables_by_stream(ch, database)
    assert {s: again[s] for s in first} == first
    assert len(set(again.values())) == len(ALIKE)
    for stream, table in again.items():
        got = rows(ch, f"SELECT id FROM {database}.`{table}` FINAL ORDER BY id")
        expected = [(stream,), (f"{stream}-again",)] if stream in first else [(f"{stream}-again",)]
        assert got == expected


def test_a_table_from_before_owners_were_recorded_keeps_its_stream(ch, database, target_config):
    config = target_config(database, table_prefix="zoho_")
    run_target(config, messages(["le-ads"]))
    ch.command(f"ALTER TABLE {database}.zoho_le_ads MODIFY COMMENT ''")  # as an older version
    run_target(config, messages(["le-ads"], tag="-2"))  # claims it again, and records it
    run_target(config, messages(["le;ads", "le-ads"], tag="-3"))  # the other one arrives first

    tables = tables_by_stream(ch, database)
    assert tables["le-ads"] == "zoho_le_ads"
    assert tables["le;ads"] == f"zoho_le_ads_{ddl.short_hash('le;ads')}"
    comment = rows(
        ch,
        "SELECT comment FROM system.tables WHERE database = {d:String} AND name = 'zoho_le_ads'",
        d=database,
    )
    assert comment == [(ddl.stamp("le-ads"),)]


def test_a_stream_named_like_another_streams_view_gets_its_own_table(ch, database, target_config):
    run_target(target_config(database), messages(["leads", "leads_current"]))

    tables = tables_by_stream(ch, database)
    assert tables["leads"] == "leads"
    assert tables["leads_current"] == f"leads_current_{ddl.short_hash('leads_current')}"
    assert rows(ch, f"SELECT id FROM {database}.leads_current") == [("leads",)]


def test_a_very_long_stream_name_gets_a_table_name_clickhouse_accepts(ch, database, target_config):
    long_names = ["x" * 300, "x" * 300 + "y"]
    run_target(target_config(database), messages(long_names))

    tables = tables_by_stream(ch, database)
    assert len(set(tables.values())) == 2
    assert all(len(t) <= ddl.MAX_TABLE_NAME for t in tables.values())


TARGET = Path(sys.executable).with_name("target-clickhouse")


def test_the_cli_loads_streams_whose_names_sanitise_alike(tmp_path, load_path):
    config = {"path": str(tmp_path / "data"), "table_prefix": "zoho_"}
    if load_path == "dicts":
        config["validate_records"] = True
    (tmp_path / "config.json").write_text(json.dumps(config))
    text = "".join(json.dumps(m) + "\n" for m in messages(ALIKE))
    result = subprocess.run(
        [str(TARGET), "--config", str(tmp_path / "config.json")],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    client = clickhouse_connect.get_client(interface="chdb", path=str(tmp_path / "data"))
    try:
        tables = client.query(
            "SELECT name FROM system.tables WHERE database = 'default' AND name LIKE 'zoho_le_ads%'"
            " AND engine LIKE '%MergeTree'"
        ).result_rows
    finally:
        client.close()
    assert len(tables) == len(ALIKE)
