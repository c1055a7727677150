"""The writer's guarantees that the loading tests do not reach: what happens after a failed insert."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError
from target_clickhouse.errors import BadRecordError

from tests.support.clickhouse import record, rows, run_target, schema_message


def test_after_a_failed_insert_no_state_is_emitted_and_the_run_ends_in_one_line(
    ch, database, monkeypatch, target_config
):
    from target_clickhouse.connection import Connection

    real = Connection.insert_batch

    def refuse_one_table(self, plan, path, settings):
        if plan.spec.table == "broken":
            raise DatabaseError("Code: 1001. std::exception: something odd", code=1001)
        real(self, plan, path, settings)

    monkeypatch.setattr(Connection, "insert_batch", refuse_one_table)
    props = {"id": {"type": ["string"]}}
    states: list[dict] = []
    with pytest.raises(BadRecordError, match=r"^stream 'broken': ClickHouse refused the batch"):
        run_target(
            target_config(database, flush_interval_seconds=0),
            [
                schema_message("broken", props, ["id"]),
                schema_message("fine", props, ["id"]),
                record("fine", {"id": "1"}),
                record("broken", {"id": "1"}),
                {"type": "STATE", "value": {"n": 1}},
                record("fine", {"id": "2"}),
                {"type": "STATE", "value": {"n": 2}},
                record("fine", {"id": "3"}),
            ],
            on_state=states.append,
        )

    assert states == []  # the failed rows were read before every STATE
    assert rows(ch, f"SELECT count() FROM {database}.broken") == [(0,)]


def test_a_transient_failure_is_retried_and_state_follows_the_acknowledgement(
    ch, database, monkeypatch, target_config
):
    from target_clickhouse import writer
    from target_clickhouse.connection import Connection

    monkeypatch.setattr(writer.time, "sleep", lambda _seconds: None)
    real = Connection.insert_batch
    attempts: list[int] = []

    def overloaded_once(self, plan, path, settings):
        attempts.append(1)
        if len(attempts) == 1:
            raise DatabaseError("Code: 202. Too many simultaneous queries", code=202)
        real(self, plan, path, settings)

    monkeypatch.setattr(Connection, "insert_batch", overloaded_once)
    counted: list[int] = []
    props = {"id": {"type": ["string"]}}
    states = run_target(
        target_config(database),
        [
            schema_message("s", props, ["id"]),
            record("s", {"id": "1"}),
            {"type": "STATE", "value": {"n": 1}},
        ],
        on_state=lambda _state: counted.append(rows(ch, f"SELECT count() FROM {database}.s")[0][0]),
    )

    assert len(attempts) == 2
    assert states == [{"n": 1}]
    assert counted == [1]
