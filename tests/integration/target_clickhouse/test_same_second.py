"""Equal versions in ClickHouse: the later-read record wins (issue 9, points 1 and 2).

``_sdc_version`` is the ``Modified_Time`` in microseconds, so two reads of a record edited twice
within one second carry the same version. ReplacingMergeTree keeps the last inserted row of equal
versions; these tests prove it across target runs (separate inserts, separate parts), with
``FINAL``, after ``OPTIMIZE ... FINAL`` and through the ``_current`` view, on both load paths,
with the tap's own output for the race scenarios of ``tests/support/keyset_scenarios.py``.
"""

from __future__ import annotations

import pytest

from tests.support.clickhouse import lead, leads_schema, record, rows, run_target, schema_message
from tests.support.keyset_scenarios import CRM_MODULE, CRM_STREAM, crm_mass_update, crm_same_second


def _final_names(ch, database: str) -> dict[str, str]:
    table = f"{database}.{CRM_STREAM}"
    return dict(rows(ch, f"SELECT id, Name FROM {table} FINAL"))


def _load_each_run(scenario, database: str, target_config) -> None:
    for messages in scenario.messages():  # one target run per tap run: one insert each
        run_target(target_config(database), messages)


def _assert_newest_everywhere(ch, database: str, expected: dict[str, str]) -> None:
    table = f"{database}.{CRM_STREAM}"
    assert _final_names(ch, database) == expected
    assert dict(rows(ch, f"SELECT id, Name FROM {table}_current")) == expected
    ch.command(f"OPTIMIZE TABLE {table} FINAL")
    assert dict(rows(ch, f"SELECT id, Name FROM {table}")) == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_record_edited_twice_in_one_second_ends_at_its_second_value(
    ch, database, load_path, seed, target_config
):
    scenario = crm_same_second(seed, bookmark_lag_seconds=0)  # the equal-version case proper
    try:
        expected = {rid: r["Name"] for rid, r in scenario.sandbox.records(CRM_MODULE).items()}
    finally:
        scenario.sandbox.stop()
    versions = [
        (r["id"], r["Modified_Time"]) for run in scenario.runs[1:] for r in run.records[CRM_STREAM]
    ]
    assert len(versions) > len(set(versions))  # the same record and version, read twice

    _load_each_run(scenario, database, target_config)

    _assert_newest_everywhere(ch, database, expected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_mass_update_edited_again_while_read_ends_at_the_newest_values(
    ch, database, load_path, seed, target_config
):
    scenario = crm_mass_update(seed)
    try:
        expected = {rid: r["Name"] for rid, r in scenario.sandbox.records(CRM_MODULE).items()}
    finally:
        scenario.sandbox.stop()

    _load_each_run(scenario, database, target_config)

    _assert_newest_everywhere(ch, database, expected)


def test_of_equal_versions_in_one_batch_the_last_row_wins(ch, database, load_path, target_config):
    schema = schema_message("leads", {"id": {"type": "string"}, "Name": {"type": "string"},
                                      "Modified_Time": {"type": "string", "format": "date-time"}},
                            ["id"], ["Modified_Time"])  # fmt: skip
    same = "2024-01-01T10:00:00+05:30"
    run_target(
        target_config(database),
        [schema, *(record("leads", {"id": "1", "Name": f"v{n}", "Modified_Time": same})
                   for n in range(5))],
    )  # fmt: skip
    run_target(target_config(database), [schema, record("leads", {"id": "2", "Name": "x",
                                                                   "Modified_Time": same})])  # fmt: skip

    assert rows(ch, f"SELECT id, Name FROM {database}.leads FINAL ORDER BY id") == [
        ("1", "v4"),
        ("2", "x"),
    ]
    ch.command(f"OPTIMIZE TABLE {database}.leads FINAL")
    assert rows(ch, f"SELECT Name FROM {database}.leads WHERE id = '1'") == [("v4",)]


def test_a_deletion_in_the_same_second_as_the_last_edit_still_wins(
    ch, database, load_path, target_config
):
    config = target_config(database)
    same = "2024-01-01T00:00:00Z"
    run_target(
        config,
        [
            leads_schema(),
            record("leads", {"id": "1", "Modified_Time": same, "_sdc_deleted_at": same}),
        ],
    )
    run_target(config, [leads_schema(), lead("1", "late replay", same)])

    assert rows(ch, f"SELECT id FROM {database}.leads FINAL") == []
