"""The raw load path on chDB: STATE waits for the insert in flight, and when records stay text."""

from __future__ import annotations

import pytest
from target_clickhouse import ddl, rawload

from tests.support.clickhouse import record, rows, run_target, schema_message


def plan(**columns: str) -> rawload.LoadPlan:
    spec = ddl.TableSpec("db", "t", dict(columns), ("id",))
    cols = tuple(rawload.Column(n, t, key=n == "id") for n, t in columns.items())
    return rawload.LoadPlan(spec, cols, bookmark="at" if "at" in columns else None)


def test_state_waits_for_the_insert_in_flight(ch, database, monkeypatch, target_config):
    import time

    from target_clickhouse.connection import Connection

    real = Connection.insert_raw_batch
    acknowledged: list[int] = []

    def slow(self, *args, **kwargs):
        time.sleep(0.3)
        real(self, *args, **kwargs)
        acknowledged.append(1)

    monkeypatch.setattr(Connection, "insert_raw_batch", slow)
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
    from target_clickhouse.sinks import ClickHouseSink

    def no_raw(*_args, **_kwargs):
        raise AssertionError("a record skipped Python although it had to be seen")

    monkeypatch.setattr(ClickHouseSink, "add_raw_record", no_raw)
    props = {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}
    run_target(
        target_config(database, **config),
        [schema_message("s", props, ["id"]), record("s", {"id": "1", "n": 5})],
    )

    expected = 10 if "stream_maps" in config else 5
    assert rows(ch, f"SELECT id, n FROM {database}.s") == [("1", expected)]


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
    connection.insert_raw_batch(plan(id="String"), str(batch), {"insert_deduplication_token": "x"})

    [(sql, data, settings)] = sent
    assert sql == plan(id="String").insert_from_body()
    assert data == batch.read_bytes()
    assert settings["insert_deduplication_token"] == "x"
    assert settings["input_format_skip_unknown_fields"] == 1
