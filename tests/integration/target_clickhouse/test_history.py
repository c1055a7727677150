"""``history_mode``: every distinct version of every record, and when each version was true."""

from __future__ import annotations

from datetime import datetime

import pytest
from target_clickhouse import ddl, history

from tests.support.clickhouse import record, rows, run_target, schema_message

pytestmark = pytest.mark.usefixtures("load_path")

PROPS = {
    "id": {"type": ["string"]},
    "Name": {"type": ["string", "null"]},
    "Modified_Time": {"type": ["string", "null"], "format": "date-time"},
    "_sdc_deleted_at": {"type": ["string", "null"], "format": "date-time"},
}
LATE_PROPS = {**PROPS, "Phone": {"type": ["string", "null"]}}  # schema evolution in run 3


def lead(rid: str, name: str, modified: str, **extra: str) -> dict:
    return record("leads", {"id": rid, "Name": name, "Modified_Time": modified, **extra})


def deletion(rid: str, at: str) -> dict:
    return record("leads", {"id": rid, "Modified_Time": at, "_sdc_deleted_at": at})


RUNS = [
    [lead("a", "A1", "2024-01-01T00:00:00Z"), lead("b", "B1", "2024-01-01T00:00:00Z")],
    [
        lead("a", "A2", "2024-02-01T00:00:00Z"),
        deletion("b", "2024-02-10T00:00:00Z"),
        lead("a", "A1", "2024-01-01T00:00:00Z"),  # re-emitted: stored once
    ],
    [
        lead("a", "A3", "2024-03-01T00:00:00Z", Phone="555"),
        lead("a", "A2", "2024-02-01T00:00:00Z"),  # re-emitted again
        lead("c", "C1", "2024-03-05T00:00:00Z", Phone="777"),  # added late
    ],
]


def load_three_runs(target_config, database: str, **config) -> None:
    settings = target_config(database, table_prefix="zoho_", **config)
    for number, run in enumerate(RUNS):
        props = LATE_PROPS if number == 2 else PROPS
        run_target(settings, [schema_message("leads", props, ["id"], ["Modified_Time"]), *run])


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


VERSIONS = [
    ("a", "A1", utc("2024-01-01T00:00:00"), utc("2024-02-01T00:00:00"), 0, 0),
    ("a", "A2", utc("2024-02-01T00:00:00"), utc("2024-03-01T00:00:00"), 0, 0),
    ("a", "A3", utc("2024-03-01T00:00:00"), None, 1, 0),
    ("b", "B1", utc("2024-01-01T00:00:00"), utc("2024-02-10T00:00:00"), 0, 0),
    ("b", None, utc("2024-02-10T00:00:00"), None, 1, 1),
    ("c", "C1", utc("2024-03-05T00:00:00"), None, 1, 0),
]


def as_of(ch, database: str, instant: str) -> list[tuple]:
    """The point-in-time query of the README: each record as it was at ``instant``."""
    return rows(
        ch,
        f"SELECT id, Name FROM {database}.zoho_leads_history "
        "WHERE valid_from <= {t:DateTime64(6, 'UTC')} "
        "AND (valid_to IS NULL OR valid_to > {t:DateTime64(6, 'UTC')}) AND is_deleted = 0 "
        "ORDER BY id",
        t=utc(instant),
    )


@pytest.mark.parametrize("all_strings", [False, True])
def test_three_runs_keep_every_distinct_version_and_its_validity_window(
    ch, database, all_strings, target_config
):
    load_three_runs(target_config, database, history_mode=True, all_strings=all_strings)
    table = f"{database}.zoho_leads"

    versions = f"SELECT id, Name, _sdc_is_deleted FROM {table}_versions"
    expected = [(v[0], v[1], v[5]) for v in VERSIONS]
    assert rows(ch, f"{versions} FINAL ORDER BY id, _sdc_version") == expected
    ch.command(f"OPTIMIZE TABLE {table}_versions FINAL")
    assert rows(ch, f"{versions} ORDER BY id, _sdc_version") == expected

    got = rows(
        ch,
        f"SELECT id, Name, valid_from, valid_to, is_current, is_deleted FROM {table}_history "
        "ORDER BY id, valid_from",
    )
    assert got == VERSIONS
    assert as_of(ch, database, "2024-01-15T00:00:00") == [("a", "A1"), ("b", "B1")]
    assert as_of(ch, database, "2024-02-15T00:00:00") == [("a", "A2")]
    assert as_of(ch, database, "2024-03-10T00:00:00") == [("a", "A3"), ("c", "C1")]
    phones = f"SELECT id, Phone FROM {table}_history WHERE is_current = 1 ORDER BY id"
    assert rows(ch, phones) == [("a", "555"), ("b", None), ("c", "777")]


def test_the_table_and_its_current_view_are_the_same_with_and_without_history(
    ch, database, target_config
):
    load_three_runs(target_config, database, history_mode=True)
    load_three_runs(target_config, database + "_plain")

    for suffix in ("", "_current"):
        query = "SELECT id, Name, Phone, _sdc_version, _sdc_is_deleted FROM {}{} ORDER BY id"
        with_history = rows(ch, query.format(f"{database}.zoho_leads", suffix) + ", _sdc_version")
        plain = rows(ch, query.format(f"{database}_plain.zoho_leads", suffix) + ", _sdc_version")
        assert with_history == plain
    tables = {
        t
        for (t,) in rows(
            ch, "SELECT name FROM system.tables WHERE database = {d:String}", d=database
        )
    }
    assert tables == {
        "zoho_leads",
        "zoho_leads_current",
        "zoho_leads_versions",
        "zoho_leads_versions_mv",
        "zoho_leads_history",
    }


def test_versions_start_with_what_the_table_held_when_history_was_turned_on(
    ch, database, target_config
):
    settings = target_config(database)
    schema = schema_message("leads", PROPS, ["id"], ["Modified_Time"])
    run_target(settings, [schema, *RUNS[0]])
    run_target({**settings, "history_mode": True}, [schema, *RUNS[1]])

    query = f"SELECT id, Name FROM {database}.leads_versions FINAL ORDER BY id, _sdc_version"
    assert rows(ch, query) == [("a", "A1"), ("a", "A2"), ("b", "B1"), ("b", None)]


def test_keyless_streams_get_no_history(ch, database, target_config):
    run_target(
        target_config(database, history_mode=True),
        [
            schema_message("events", {"e": {"type": ["string", "null"]}}),
            record("events", {"e": "x"}),
        ],
    )

    names = rows(ch, "SELECT name FROM system.tables WHERE database = {d:String}", d=database)
    assert sorted(names) == [("events",), ("events_current",)]


def test_a_stream_named_like_another_streams_history_table_gets_its_own_table(
    ch, database, target_config
):
    run_target(target_config(database, history_mode=True), [
        schema_message("leads", PROPS, ["id"], ["Modified_Time"]), *RUNS[0]])  # fmt: skip
    run_target(
        target_config(database, history_mode=True),
        [
            schema_message("leads_versions", {"id": {"type": ["string"]}}, ["id"]),
            record("leads_versions", {"id": "x"}),
        ],
    )

    assert rows(ch, f"SELECT count() FROM {database}.leads_versions FINAL") == [(2,)]
    suffixed = f"leads_versions_{ddl.short_hash('leads_versions')}"
    assert rows(ch, f"SELECT id FROM {database}.`{suffixed}`") == [("x",)]


def test_on_a_cluster_the_history_objects_run_on_cluster_with_replicated_engines():
    spec = ddl.TableSpec("db", "leads", {"id": "String", "n": "Nullable(Int64)"}, ("id",), "c1",
                         owner="leads")  # fmt: skip

    create = history.create_versions(spec)
    assert create.startswith("CREATE TABLE IF NOT EXISTS `db`.`leads_versions` ON CLUSTER `c1` ")
    assert "AS `db`.`leads`\nENGINE = ReplicatedReplacingMergeTree(" in create
    assert "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in create
    assert "ORDER BY (`id`, `_sdc_version`)" in create
    assert history.drop_feed(spec) == (
        "DROP VIEW IF EXISTS `db`.`leads_versions_mv` ON CLUSTER `c1` SYNC"
    )
    feed = history.create_feed(spec, ["id", "n", "_sdc_version"])
    assert feed == (
        "CREATE MATERIALIZED VIEW IF NOT EXISTS `db`.`leads_versions_mv` ON CLUSTER `c1` "
        "TO `db`.`leads_versions`\nAS SELECT `id`, `n`, `_sdc_version` FROM `db`.`leads`"
    )
    view = history.history_view(spec, {"id": "String", "n": "Nullable(Int64)"})
    assert view.startswith("CREATE OR REPLACE VIEW `db`.`leads_history` ON CLUSTER `c1` AS\n")
    assert "FROM `db`.`leads_versions` FINAL" in view
    assert ddl.add_column(history.versions_spec(spec), "x", "Nullable(String)") == (
        "ALTER TABLE `db`.`leads_versions` ON CLUSTER `c1` ADD COLUMN IF NOT EXISTS `x` "
        "Nullable(String)"
    )


def test_without_a_cluster_the_history_objects_are_plain():
    spec = ddl.TableSpec("db", "leads", {"id": "String"}, ("id",), owner="leads")

    create = history.create_versions(spec)
    assert "ON CLUSTER" not in create
    assert "ENGINE = ReplacingMergeTree()" in create


def test_a_widened_column_is_widened_in_the_versions_and_the_history_too(
    ch, database, target_config
):
    narrow = {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}
    wide = {"id": {"type": ["string"]}, "n": {"type": ["string", "null"]}}
    settings = target_config(database, history_mode=True)
    run_target(
        settings, [schema_message("evo", narrow, ["id"]), record("evo", {"id": "1", "n": 5})]
    )
    run_target(
        settings, [schema_message("evo", wide, ["id"]), record("evo", {"id": "2", "n": "x"})]
    )

    types = dict(
        rows(
            ch,
            "SELECT table, type FROM system.columns WHERE database = {d:String} AND name = 'n'",
            d=database,
        )
    )
    assert types["evo"] == types["evo_versions"] == types["evo_history"] == "Nullable(String)"
    assert rows(ch, f"SELECT id, n FROM {database}.evo_history ORDER BY id") == [
        ("1", "5"),
        ("2", "x"),
    ]
