"""The raw load path: generated SQL, the SDK members it relies on, and when it is used."""

from __future__ import annotations

import io
import typing as t

import pytest
from target_clickhouse import ddl, loadplan
from target_clickhouse.reader import RawRecordReader

from tests.support.clickhouse import record, rows, run_target, schema_message

if t.TYPE_CHECKING:
    import msgspec

ODD = "it's `q` $€"


def plan(**columns: str) -> loadplan.LoadPlan:
    spec = ddl.TableSpec("db", "t", dict(columns), ("id",))
    cols = tuple(loadplan.Column(n, t, key=n == "id") for n, t in columns.items())
    return loadplan.LoadPlan(spec, cols, bookmark="at" if "at" in columns else None)


def test_the_input_structure_reads_every_property_as_text_and_quotes_odd_names():
    structure = plan(id="String", **{ODD: "Nullable(Int64)"}).structure()

    assert structure == (
        "`id` Nullable(String), `it's \\`q\\` $€` Nullable(String), "
        "`_sdc_deleted_at` Nullable(String)"
    )
    sql = plan(id="String", **{ODD: "Nullable(Int64)"}).insert_from_file("spool/a'b.jsonl")
    assert "FROM file('spool/a\\'b.jsonl', 'JSONEachRow', '`id` Nullable(String), `it\\'s" in sql


def test_the_server_insert_reads_the_request_body_as_json_each_row():
    sql = plan(id="String").insert_from_body()

    assert sql.startswith("INSERT INTO `db`.`t` (`id`, `_sdc_version`, `_sdc_is_deleted`)")
    assert "FROM input('`id` Nullable(String), `_sdc_deleted_at` Nullable(String)')" in sql
    assert sql.endswith("FORMAT JSONEachRow")


def test_the_version_comes_from_the_bookmark_and_a_deletion_adds_a_microsecond():
    select = plan(id="String", at="Nullable(DateTime64(6, 'UTC'))").select()

    assert "toUnixTimestamp64Micro(if(match(`at`" in select
    assert "greatest(" in select
    assert "+ 1)" in select
    assert loadplan.failed_column("Code: 395. target-clickhouse check #3: while executing") == 3
    assert loadplan.failed_row("bad (while reading the value of key a.b): (at row 7) :") == (
        6,
        "a.b",
    )


def test_state_waits_for_the_insert_in_flight(ch, database, monkeypatch, target_config):
    import time

    from target_clickhouse.connection import Connection

    real = Connection.insert_batch
    acknowledged: list[int] = []

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        real(self, *args, **kwargs)
        acknowledged.append(1)

    monkeypatch.setattr(Connection, "insert_batch", slow)
    acknowledged_at_state: list[int] = []
    props = {"id": {"type": ["string"]}}
    states = run_target(
        target_config(database, batch_size_rows=1),
        [
            schema_message("s", props, ["id"]),
            record("s", {"id": "1"}),  # full: inserted in the background
            {"type": "STATE", "value": {"n": 1}},
        ],
        on_state=lambda _state: acknowledged_at_state.append(len(acknowledged)),
    )

    assert states == [{"n": 1}]
    assert acknowledged_at_state == [1]
    assert rows(ch, f"SELECT count() FROM {database}.s") == [(1,)]


def test_records_reach_the_table_without_becoming_dicts(ch, database, monkeypatch, target_config):
    from target_clickhouse.sinks import ClickHouseSink

    def no_dicts(*_args, **_kwargs):
        raise AssertionError("a record went through the dict path")

    monkeypatch.setattr(ClickHouseSink, "process_record", no_dicts)
    props = {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}
    run_target(
        target_config(database),
        [schema_message("s", props, ["id"]), record("s", {"id": "1", "n": 5})],
    )

    assert rows(ch, f"SELECT id, n FROM {database}.s") == [("1", 5)]


@pytest.mark.parametrize(
    "config",
    [
        {"validate_records": True},
        {"stream_maps": {"s": {"n": "n * 2"}}},
        {"add_record_metadata": True},
    ],
)
def test_records_are_dicts_when_python_must_see_them(
    ch, database, config, monkeypatch, target_config
):
    from target_clickhouse.writer import ClickHouseWriter

    def no_raw(*_args, **_kwargs):
        raise AssertionError("a record skipped Python although it had to be seen")

    monkeypatch.setattr(ClickHouseWriter, "accept_raw", no_raw)
    props = {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}
    run_target(
        target_config(database, **config),
        [schema_message("s", props, ["id"]), record("s", {"id": "1", "n": 5})],
    )

    expected = 10 if "stream_maps" in config else 5
    assert rows(ch, f"SELECT id, n FROM {database}.s") == [("1", expected)]


def test_blank_lines_are_ignored():
    reader = RawRecordReader()
    seen: list[dict] = []
    reader.raw_record_handler = lambda _stream, _raw: False
    counts = reader.process_lines(
        io.StringIO('\n  \n{"type": "STATE", "value": {}}\n\n'), {"STATE": seen.append}
    )

    assert seen == [{"type": "STATE", "value": {}}]
    assert counts == {"STATE": 1}


def test_a_raw_record_is_the_records_json_text():
    got: list[bytes] = []

    def keep(stream: str, raw: msgspec.Raw) -> bool:
        got.append(bytes(raw))
        return stream == "s"

    reader = RawRecordReader()
    reader.raw_record_handler = keep
    reader.process_lines(
        io.BytesIO(b'{"type":"RECORD","stream":"s","record":{"a": 1.10},"time_extracted":"x"}\n'),
        {},
    )

    assert got == [b'{"a": 1.10}']


def test_a_server_gets_the_batch_as_the_body_of_an_insert_from_input(tmp_path):
    """No ClickHouse server runs here: check the request the HTTP client is asked to send."""
    from target_clickhouse.connection import Connection

    sent: list[tuple[str, bytes | None, dict]] = []

    class RecordingClient:
        def command(self, sql, data=None, settings=None):
            sent.append((sql, data, settings or {}))

    connection = Connection.__new__(Connection)
    connection.embedded = False
    connection.client = RecordingClient()  # type: ignore[assignment]
    connection._lock = None
    batch = tmp_path / "batch.jsonl"
    batch.write_bytes(b'{"id": "1"}\n{"id": "2"}\n')
    connection.insert_batch(plan(id="String"), str(batch), {"insert_deduplication_token": "x"})

    [(sql, data, settings)] = sent
    assert sql == plan(id="String").insert_from_body()
    assert data == batch.read_bytes()
    assert settings["insert_deduplication_token"] == "x"
    assert settings["input_format_skip_unknown_fields"] == 1
