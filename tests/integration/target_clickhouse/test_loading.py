"""target-clickhouse behaviour on the real embedded engine (chDB)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.support.clickhouse import (
    LEADS,
    lead,
    leads_schema,
    record,
    rows,
    run_target,
    schema_message,
)

pytestmark = pytest.mark.usefixtures("load_path")


def test_rows_with_the_same_key_collapse_to_the_newest_with_final(ch, database, target_config):
    run_target(
        target_config(database, table_prefix="zoho_"),
        [
            leads_schema(),
            lead("1", "old", "2024-01-01T10:00:00+05:30"),
            lead("1", "new", "2024-01-02T10:00:00+05:30"),
            lead("2", "other", "2024-01-01T10:00:00+05:30"),
        ],
    )

    got = rows(ch, f"SELECT id, Name FROM {database}.zoho_leads FINAL ORDER BY id")
    assert got == [("1", "new"), ("2", "other")]
    assert rows(ch, f"SELECT count() FROM {database}.zoho_leads_current") == [(2,)]


def test_a_deleted_record_disappears_from_final_and_the_current_view(ch, database, target_config):
    config = target_config(database)
    run_target(
        config,
        [
            leads_schema(),
            lead("1", "a", "2024-01-01T00:00:00Z"),
            lead("2", "b", "2024-01-01T00:00:00Z"),
        ],
    )
    run_target(
        config,
        [
            leads_schema(),
            record(
                "leads",
                {
                    "id": "1",
                    "Modified_Time": "2024-01-03T00:00:00Z",
                    "_sdc_deleted_at": "2024-01-03T00:00:00Z",
                },
            ),
        ],
    )

    assert rows(ch, f"SELECT id FROM {database}.leads FINAL") == [("2",)]
    assert rows(ch, f"SELECT id FROM {database}.leads_current") == [("2",)]


def test_replaying_an_older_file_brings_back_neither_old_values_nor_deleted_rows(
    ch, database, target_config
):
    config = target_config(database)
    old_file = [
        leads_schema(),
        lead("1", "v1", "2024-01-01T00:00:00Z"),
        lead("2", "v1", "2024-01-01T00:00:00Z"),
    ]
    new_file = [
        leads_schema(),
        lead("1", "v2", "2024-02-01T00:00:00Z"),
        record(
            "leads",
            {
                "id": "2",
                "Modified_Time": "2024-02-01T00:00:00Z",
                "_sdc_deleted_at": "2024-02-01T00:00:00Z",
            },
        ),
    ]
    run_target(config, old_file)
    run_target(config, new_file)
    run_target(config, old_file)  # replayed late

    assert rows(ch, f"SELECT id, Name FROM {database}.leads FINAL") == [("1", "v2")]


def test_a_tombstone_without_a_bookmark_value_wins_over_earlier_edits_only(
    ch, database, target_config
):
    """Deletions win in the target, for any tap: by the deletion instant, not the load time."""
    config = target_config(database)
    deleted = "2024-01-01T00:00:10Z"
    tombstones = [leads_schema(), record("leads", {"id": "1", "_sdc_deleted_at": deleted})]
    tombstones.append(record("leads", {"id": "2", "_sdc_deleted_at": deleted}))
    run_target(config, [leads_schema(), lead("1", "edit", "2024-01-01T00:00:10Z")])
    run_target(config, tombstones)
    # Read after the tombstone: id 2 was restored after its deletion; id 1's edit is older.
    run_target(
        config,
        [
            leads_schema(),
            lead("1", "older replay", "2024-01-01T00:00:09Z"),
            lead("2", "restored", "2024-01-01T00:00:11Z"),
        ],
    )

    assert rows(ch, f"SELECT id, Name FROM {database}.leads FINAL") == [("2", "restored")]


def test_a_record_without_its_bookmark_value_is_versioned_by_its_load_time(
    ch, database, target_config
):
    import time

    started = int(time.time() * 1_000_000)
    run_target(target_config(database), [leads_schema(), record("leads", {"id": "1"})])

    ((version,),) = rows(ch, f"SELECT _sdc_version FROM {database}.leads")
    assert started <= version <= int(time.time() * 1_000_000)


def test_a_key_column_changing_type_is_one_clear_error(ch, database, target_config):
    from target_clickhouse.errors import SchemaChangeError, TargetClickHouseError

    config = target_config(database)
    integer_id = {**LEADS, "id": {"type": ["integer"]}}
    run_target(config, [schema_message("leads", integer_id, ["id"]), record("leads", {"id": 1})])

    with pytest.raises(SchemaChangeError, match="key column 'id' is Int64") as error:
        run_target(config, [leads_schema(), lead("x", "a", "2024-01-01T00:00:00Z")])

    assert isinstance(error.value, TargetClickHouseError)  # ends as one line (see target.main)
    assert rows(ch, f"SELECT id FROM {database}.leads FINAL") == [(1,)]


def test_keyless_streams_keep_every_row_in_a_merge_tree(ch, database, target_config):
    props = {"event": {"type": ["string", "null"]}}
    run_target(
        target_config(database),
        [
            schema_message("events", props),
            record("events", {"event": "a"}),
            record("events", {"event": "a"}),
        ],
    )

    assert rows(ch, f"SELECT count() FROM {database}.events") == [(2,)]
    engine = rows(
        ch,
        "SELECT engine FROM system.tables WHERE database = {d:String} AND name = 'events'",
        d=database,
    )
    assert engine == [("MergeTree",)]


def test_a_retried_keyless_insert_does_not_duplicate_rows(ch, database, load_path, target_config):
    from target_clickhouse.connection import Connection
    from target_clickhouse.target import TargetClickHouse

    calls = {"n": 0}
    method = "insert_batch"  # both load paths insert a batch file
    real_insert = getattr(Connection, method)

    def flaky_insert(self, *args, **kwargs):
        real_insert(self, *args, **kwargs)  # ClickHouse stored the rows...
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("connection reset after the insert")  # ...but the ack was lost

    props = {"event": {"type": ["string", "null"]}}
    setattr(Connection, method, flaky_insert)
    try:
        run_target(
            target_config(database),
            [
                schema_message("events", props),
                record("events", {"event": "a"}),
                record("events", {"event": "b"}),
            ],
        )
    finally:
        setattr(Connection, method, real_insert)
    assert TargetClickHouse  # the real target ran the retry
    assert calls["n"] == 2
    assert rows(ch, f"SELECT count() FROM {database}.events") == [(2,)]


def test_every_type_maps_to_its_column_type_and_values_round_trip(ch, database, target_config):
    props = {
        "id": {"type": ["integer"]},
        "i": {"type": ["integer", "null"]},
        "f": {"type": ["number", "null"]},
        "money": {
            "type": ["number", "null"],
            "x-sql-datatype": "decimal",
            "x-sql-datatype-properties": {"precision": 16, "scale": 2},
        },
        "legacy_money": {"type": ["number", "null"], "multipleOf": 0.001},
        "singer_decimal": {
            "type": ["string", "null"],
            "format": "x-singer.decimal",
            "precision": 20,
            "scale": 4,
        },
        "b": {"type": ["boolean", "null"]},
        "d": {"type": ["string", "null"], "format": "date"},
        "ts": {"type": ["string", "null"], "format": "date-time"},
        "s": {"type": ["string", "null"]},
        "obj": {"type": ["object", "null"], "properties": {"name": {"type": "string"}}},
        "arr": {"type": ["array", "null"], "items": {"type": "string"}},
    }
    run_target(
        target_config(database),
        [
            schema_message("types", props, ["id"]),
            record(
                "types",
                {
                    "id": 1,
                    "i": 42,
                    "f": 1.5,
                    "money": 20041.92,
                    "legacy_money": 1.125,
                    "singer_decimal": "12345.6789",
                    "b": True,
                    "d": "2024-02-29",
                    "ts": "2024-01-05T10:20:30+05:30",
                    "s": "ünïcode ✓",
                    "obj": {"name": "Acme", "id": "7"},
                    "arr": ["x", "y"],
                },
            ),
            record("types", {"id": 2, "ts": "2024-01-05T10:20:30+0530"}),
            record("types", {"id": 3, "d": "1960-02-29T23:30:00+05:30", "b": False, "i": -7}),
        ],
    )

    types = dict(
        rows(
            ch,
            "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = 'types'",
            d=database,
        )
    )
    assert types["id"] == "Int64"
    assert types["i"] == "Nullable(Int64)"
    assert types["f"] == "Nullable(Float64)"
    assert types["money"] == "Nullable(Decimal(16, 2))"
    assert types["legacy_money"].startswith("Nullable(Decimal(")
    assert types["legacy_money"].endswith(", 3))")
    assert types["singer_decimal"] == "Nullable(Decimal(20, 4))"
    assert types["b"] == "Nullable(Bool)"
    assert types["d"] == "Nullable(Date32)"
    assert types["ts"] == "Nullable(DateTime64(6, 'UTC'))"
    assert types["obj"] == types["arr"] == "Nullable(String)"
    got = rows(
        ch,
        f"SELECT money, legacy_money, singer_decimal, toString(ts), obj, arr, s "
        f"FROM {database}.types FINAL ORDER BY id",
    )
    assert got[0] == (
        Decimal("20041.92"),
        Decimal("1.125"),
        Decimal("12345.6789"),
        "2024-01-05 04:50:30.000000",
        '{"name":"Acme","id":"7"}',
        '["x","y"]',
        "ünïcode ✓",
    )
    assert got[1][3] == "2024-01-05 04:50:30.000000"  # colon-less offset normalised too
    assert rows(ch, f"SELECT d, b, i FROM {database}.types FINAL ORDER BY id") == [
        (date(2024, 2, 29), True, 42),
        (None, None, None),
        (date(1960, 2, 29), False, -7),  # Date32 before 1970; the day as written
    ]


def test_native_json_columns_when_configured(ch, database, target_config):
    props = {"id": {"type": ["string"]}, "obj": {"type": ["object", "null"]}}
    run_target(
        target_config(database, json_as="json"),
        [
            schema_message("docs", props, ["id"]),
            record("docs", {"id": "1", "obj": {"a": {"b": 1}}}),
        ],
    )

    types = dict(
        rows(
            ch,
            "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = 'docs'",
            d=database,
        )
    )
    assert types["obj"].startswith("JSON")
    assert rows(ch, f"SELECT toString(obj.a.b) FROM {database}.docs") == [("1",)]


def test_all_strings_gives_the_legacy_layout(ch, database, target_config):
    run_target(
        target_config(database, all_strings=True, table_prefix="zoho_"),
        [leads_schema(), lead("1", "x", "2024-01-01T00:00:00Z", Amount=12.5)],
    )

    types = dict(
        rows(
            ch,
            "SELECT name, type FROM system.columns WHERE database = {d:String} "
            "AND table = 'zoho_leads'",
            d=database,
        )
    )
    assert types["id"] == "String"
    assert types["Name"] == types["Amount"] == types["Modified_Time"] == "Nullable(String)"
    assert "load_time" in types
    assert rows(ch, f"SELECT Amount FROM {database}.zoho_leads") == [("12.5",)]


def test_schema_evolution_adds_widens_and_keeps_columns(ch, database, target_config):
    config = target_config(database)
    v1 = {
        "id": {"type": ["string"]},
        "n": {"type": ["integer", "null"]},
        "gone": {"type": ["string", "null"]},
        "flag": {"type": ["boolean", "null"]},
    }
    run_target(
        config,
        [
            schema_message("evo", v1, ["id"]),
            record("evo", {"id": "1", "n": 5, "gone": "g", "flag": True}),
        ],
    )
    v2 = {
        "id": {"type": ["string"]},
        "n": {"type": ["number", "null"]},
        "flag": {"type": ["string", "null"]},
        "added": {"type": ["string", "null"]},
    }
    run_target(
        config,
        [
            schema_message("evo", v2, ["id"]),
            record("evo", {"id": "2", "n": 2.5, "flag": "maybe", "added": "new"}),
        ],
    )

    types = dict(
        rows(
            ch,
            "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = 'evo'",
            d=database,
        )
    )
    assert types["n"] == "Nullable(Float64)"
    assert types["flag"] == "Nullable(String)"
    assert types["added"] == "Nullable(String)"
    assert "gone" in types
    got = rows(ch, f"SELECT id, n, flag, gone, added FROM {database}.evo_current ORDER BY id")
    assert got == [("1", 5.0, "true", "g", None), ("2", 2.5, "maybe", None, "new")]


def test_a_schema_change_mid_stream_keeps_earlier_rows(ch, database, target_config):
    v1 = {"id": {"type": ["string"]}, "n": {"type": ["integer", "null"]}}
    v2 = {"id": {"type": ["string"]}, "n": {"type": ["string", "null"]}}
    run_target(
        target_config(database),
        [
            schema_message("mid", v1, ["id"]),
            record("mid", {"id": "1", "n": 1}),
            schema_message("mid", v2, ["id"]),
            record("mid", {"id": "2", "n": "two"}),
        ],
    )

    assert rows(ch, f"SELECT id, n FROM {database}.mid ORDER BY id") == [("1", "1"), ("2", "two")]


def test_odd_stream_and_property_names_are_sanitised_or_quoted(ch, database, target_config):
    props = {
        "id": {"type": ["string"]},
        "First Name": {"type": ["string", "null"]},
        "a.b-c": {"type": ["string", "null"]},
        "$currency": {"type": ["string", "null"]},
        "it's `quoted`": {"type": ["string", "null"]},
        "naïve": {"type": ["string", "null"]},
    }
    run_target(
        target_config(database),
        [
            schema_message("my-stream.v1 $x", props, ["id"]),
            record(
                "my-stream.v1 $x",
                {
                    "id": "1",
                    "First Name": "Ana",
                    "a.b-c": "x",
                    "$currency": "€",
                    "it's `quoted`": "q",
                    "naïve": "n",
                },
            ),
        ],
    )

    tables = {
        t
        for (t,) in rows(
            ch, "SELECT name FROM system.tables WHERE database = {d:String}", d=database
        )
    }
    assert "my_stream_v1_x" in tables
    got = rows(
        ch,
        f"SELECT `First Name`, `a.b-c`, `$currency`, `it's \\`quoted\\``, `naïve` "
        f"FROM {database}.my_stream_v1_x",
    )
    assert got == [("Ana", "x", "€", "q", "n")]


@pytest.mark.parametrize(("batch_rows", "flush_seconds"), [(2, 300), (50_000, 300), (50_000, 0)])
def test_state_is_emitted_after_the_rows_it_covers_are_committed(
    ch, database, batch_rows, flush_seconds, load_path, target_config
):
    """At the moment each STATE is written, every row read before it is in the table.

    Batches of 2 rows are inserted in the background while reading goes on; a flush interval
    of 0 writes STATE mid-stream, before the later rows are read.
    """
    rows_at_state: list[tuple[dict, int]] = []

    def count_rows(state: dict) -> None:
        (count,) = rows(ch, f"SELECT count() FROM {database}.leads")[0]
        rows_at_state.append((state, count))

    first = {"bookmarks": {"leads": {"replication_key_value": "2024-01-01T00:00:03Z"}}}
    last = {"bookmarks": {"leads": {"replication_key_value": "2024-01-01T00:00:05Z"}}}
    states = run_target(
        target_config(database, batch_size_rows=batch_rows, flush_interval_seconds=flush_seconds),
        [
            leads_schema(),
            *(lead(str(i), "a", f"2024-01-01T00:00:0{i}Z") for i in (1, 2, 3)),
            {"type": "STATE", "value": first},
            *(lead(str(i), "a", f"2024-01-01T00:00:0{i}Z") for i in (4, 5)),
            {"type": "STATE", "value": last},
        ],
        on_state=count_rows,
    )

    assert states[-1] == last
    assert rows_at_state[-1] == (last, 5)
    if flush_seconds == 0:
        assert (first, 3) in rows_at_state
    for state, count in rows_at_state:
        assert count >= (3 if state == first else 5)


@pytest.mark.parametrize("batch_rows", [1, 7])
def test_small_batches_insert_everything(ch, database, batch_rows, target_config):
    messages = [leads_schema()] + [lead(str(i), "n", "2024-01-01T00:00:00Z") for i in range(20)]
    run_target(target_config(database, batch_size_rows=batch_rows), messages)

    assert rows(ch, f"SELECT count() FROM {database}.leads FINAL") == [(20,)]


def test_batches_are_bounded_by_bytes(ch, database, monkeypatch, target_config):
    from target_clickhouse.connection import Connection

    inserts = {"n": 0}
    real = Connection.insert_batch

    def counted(self, *args, **kwargs):
        inserts["n"] += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "insert_batch", counted)
    name = "x" * 500
    messages = [leads_schema()] + [lead(str(i), name, "2024-01-01T00:00:00Z") for i in range(20)]
    run_target(target_config(database, batch_size_bytes=2_000), messages)

    assert rows(ch, f"SELECT count() FROM {database}.leads FINAL") == [(20,)]
    assert 5 <= inserts["n"] <= 20  # about 3 records of ~600 bytes per 2,000-byte batch


def test_non_ascii_stream_names_get_distinct_readable_tables(ch, database, target_config):
    from target_clickhouse.ddl import table_name

    props = {"id": {"type": ["string"]}}
    run_target(
        target_config(database),
        [
            schema_message("Лиды", props, ["id"]),
            schema_message("Сделки", props, ["id"]),
            record("Лиды", {"id": "lead"}),
            record("Сделки", {"id": "deal"}),
        ],
    )

    leads, deals = table_name("", "Лиды"), table_name("", "Сделки")
    assert leads != deals
    assert leads.startswith("stream_")
    assert table_name("zoho_", "Categorías").startswith("zoho_Categorias_")
    assert rows(ch, f"SELECT id FROM {database}.`{leads}`") == [("lead",)]
    assert rows(ch, f"SELECT id FROM {database}.`{deals}`") == [("deal",)]


def test_source_properties_named_like_the_targets_columns_are_kept(ch, database, target_config):
    props = {
        "id": {"type": ["string"]},
        "load_time": {"type": ["string", "null"]},
        "_sdc_version": {"type": ["integer", "null"]},
        "Modified_Time": {"type": ["string", "null"], "format": "date-time"},
    }
    run_target(
        target_config(database),
        [
            schema_message("src", props, ["id"], ["Modified_Time"]),
            record(
                "src",
                {
                    "id": "1",
                    "load_time": "yesterday",
                    "_sdc_version": 7,
                    "Modified_Time": "2024-01-01T00:00:00Z",
                },
            ),
        ],
    )

    got = rows(
        ch,
        f"SELECT _source_load_time, _source__sdc_version, _sdc_version, load_time > '2020-01-01' "
        f"FROM {database}.src",
    )
    assert got == [("yesterday", 7, 1704067200000000, True)]
