"""Unit tests of ``target_clickhouse.ddl``: JSON Schema -> column types, names and statements.

No engine: every mapping and statement is checked as text (``test_cli_and_ddl.py`` has the
cluster statements and the widening rules).
"""

from __future__ import annotations

import pytest
from target_clickhouse import ddl

DT = "DateTime64(6, 'UTC')"


@pytest.mark.parametrize(
    ("prefix", "stream", "table"),
    [
        ("zoho_", "leads", "zoho_leads"),
        ("", "Deals-2024.v1", "Deals_2024_v1"),  # anything but letters, digits and _ is _
        ("", "--x--", "x"),
        ("", "X_rays_X", "X_rays_X"),  # only the separators are stripped from the ends
        ("", "...", "_stream"),
        ("", "Categorías", "Categorias_"),  # accents dropped, hash of the exact name appended
    ],
)
def test_table_names_are_plain_identifiers(prefix, stream, table):
    assert ddl.table_name(prefix, stream).startswith(table)


def test_non_ascii_stream_names_get_distinct_hashed_tables():
    first, second = ddl.table_name("", "Лиды"), ddl.table_name("", "Сделки")

    assert first.startswith("stream_")
    assert len(first) == len("stream_") + 8
    assert first != second
    assert ddl.table_name("z_", "Categorías") == ddl.table_name("z_", "Categorías")
    assert ddl.table_name("z_", "Categorías") != "z_Categorias"
    assert ddl.table_name("z_", "Categorias") == "z_Categorias"


def test_identifiers_are_backtick_quoted_with_escapes():
    assert ddl.quote("a`b\\c d") == "`a\\`b\\\\c d`"


def test_json_types_read_unions_and_drop_null():
    assert ddl.json_types({"type": "string"}) == ["string"]
    assert ddl.json_types({"type": ["integer", "null"]}) == ["integer"]
    assert ddl.json_types({"anyOf": [{"type": "string"}, {"type": "null"}]}) == ["string"]
    assert ddl.json_types({"oneOf": [{"type": "number"}, {"type": ["boolean", "null"]}]}) == [
        "number",
        "boolean",
    ]
    assert ddl.json_types({}) == []


@pytest.mark.parametrize(
    ("schema", "ch_type"),
    [
        ({"type": ["integer", "null"]}, "Int64"),
        ({"type": ["boolean", "null"]}, "Bool"),
        ({"type": ["number", "null"]}, "Float64"),
        ({"type": ["integer", "number"]}, "Float64"),  # integer-or-number is a number
        ({"type": ["string", "null"]}, "String"),
        ({"type": ["string", "null"], "format": "date-time"}, DT),
        ({"type": ["string", "null"], "format": "date"}, "Date32"),
        ({"type": ["string"], "format": "email"}, "String"),
        ({"type": ["string", "integer"]}, "String"),  # unrelated union: text
        ({}, "String"),
        ({"type": ["object", "null"]}, "JSON"),
        ({"type": ["array", "null"]}, "JSON"),
        ({"type": ["weird"], "format": "date-time"}, "String"),  # an unknown type is text
    ],
)
def test_base_types(schema, ch_type):
    assert ddl.base_type(schema, json_type="JSON") == ch_type


def test_nested_values_are_strings_unless_a_json_type_is_given():
    assert ddl.base_type({"type": ["object", "null"]}) == "String"


@pytest.mark.parametrize(
    ("schema", "ch_type"),
    [
        (
            {
                "type": ["number", "null"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"precision": 18, "scale": 2},
            },
            "Decimal(18, 2)",
        ),
        (
            {
                "type": ["number"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"scale": 4},
            },
            "Decimal(38, 4)",  # no precision: 38
        ),
        (
            {
                "type": ["number"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"precision": 90, "scale": 4},
            },
            "Decimal(76, 4)",  # ClickHouse's widest
        ),
        (
            {"type": ["number"], "x-sql-datatype": "decimal", "x-sql-datatype-properties": {}},
            "Float64",  # no scale: not a decimal
        ),
        (
            {"type": ["string"], "format": "x-singer.decimal", "precision": 20, "scale": 6},
            "Decimal(20, 6)",
        ),
        ({"type": ["string"], "format": "x-singer.decimal", "scale": 3}, "Decimal(38, 3)"),
        ({"type": ["string"], "format": "x-singer.decimal"}, "String"),
        ({"type": ["number"], "multipleOf": 0.01}, "Decimal(38, 2)"),  # 36 digits + 2
        ({"type": ["number"], "multipleOf": 0.001, "maximum": 99999}, "Decimal(8, 3)"),
        ({"type": ["number"], "multipleOf": 0.5, "exclusiveMaximum": -250}, "Decimal(4, 1)"),
        ({"type": ["number"], "multipleOf": 1}, "Float64"),
        ({"type": ["number"], "multipleOf": 0.01, "maximum": 0}, "Decimal(38, 2)"),
        ({"type": ["number"], "multipleOf": 0}, "Float64"),  # invalid: no decimal from it
    ],
)
def test_decimal_types_come_from_precision_and_scale_or_multiple_of(schema, ch_type):
    assert ddl.base_type(schema) == ch_type


def test_nullable_wraps_once_and_never_json():
    assert ddl.nullable("Int64") == "Nullable(Int64)"
    assert ddl.nullable("Nullable(Int64)") == "Nullable(Int64)"
    assert ddl.nullable("JSON") == "JSON"
    assert ddl.strip_nullable("Nullable(Decimal(18, 2))") == "Decimal(18, 2)"
    assert ddl.strip_nullable("String") == "String"


def test_column_types_keep_keys_not_null_and_rename_the_targets_own_columns():
    schema = {
        "properties": {
            "id": {"type": ["string"]},
            "n": {"type": ["integer", "null"]},
            "load_time": {"type": ["string", "null"], "format": "date-time"},
            "_sdc_version": {"type": ["integer"]},
            "_sdc_is_deleted": {"type": ["boolean"]},
            "doc": {"type": ["object", "null"]},
        }
    }

    assert ddl.column_types(schema, ("id",), all_strings=False, json_type="JSON") == {
        "id": "String",
        "n": "Nullable(Int64)",
        "_source_load_time": f"Nullable({DT})",
        "_source__sdc_version": "Nullable(Int64)",
        "_source__sdc_is_deleted": "Nullable(Bool)",
        "doc": "JSON",
    }
    assert ddl.column_types(schema, ("id", "n"), all_strings=True, json_type="JSON") == {
        "id": "String",
        "n": "String",
        "_source_load_time": "Nullable(String)",
        "_source__sdc_version": "Nullable(String)",
        "_source__sdc_is_deleted": "Nullable(String)",
        "doc": "Nullable(String)",
    }
    assert ddl.column_name("Name") == "Name"
    assert ddl.column_types({}, (), all_strings=False, json_type="JSON") == {}


def test_create_table_with_keys_is_a_replacing_merge_tree_ordered_by_them():
    spec = ddl.TableSpec("db", "t", {"id": "String", "n": "Nullable(Int64)"}, ("id", "n"))

    assert ddl.create_table(spec) == (
        "CREATE TABLE IF NOT EXISTS `db`.`t` (\n"
        "  `id` String,\n"
        "  `n` Nullable(Int64),\n"
        "  `_sdc_version` UInt64,\n"
        "  `_sdc_is_deleted` UInt8 DEFAULT 0,\n"
        "  `load_time` DateTime64(3, 'UTC') DEFAULT now64(3)\n"
        ")\n"
        "ENGINE = ReplacingMergeTree(`_sdc_version`, `_sdc_is_deleted`)\n"
        "ORDER BY (`id`, `n`)"
    )


def test_create_table_without_keys_is_a_merge_tree_that_ignores_retried_inserts():
    spec = ddl.TableSpec("db", "events", {"e": "Nullable(String)"}, ())

    assert ddl.create_table(spec) == (
        "CREATE TABLE IF NOT EXISTS `db`.`events` (\n"
        "  `e` Nullable(String),\n"
        "  `_sdc_version` UInt64,\n"
        "  `_sdc_is_deleted` UInt8 DEFAULT 0,\n"
        "  `load_time` DateTime64(3, 'UTC') DEFAULT now64(3)\n"
        ")\n"
        "ENGINE = MergeTree()\n"
        "ORDER BY () SETTINGS non_replicated_deduplication_window = 1000"
    )


def test_the_current_view_reads_the_latest_live_version():
    keyed = ddl.TableSpec("db", "t", {"id": "String"}, ("id",))
    keyless = ddl.TableSpec("db", "e", {"e": "String"}, ())

    assert ddl.current_view(keyed) == (
        "CREATE OR REPLACE VIEW `db`.`t_current` AS "
        "SELECT * FROM `db`.`t` FINAL WHERE `_sdc_is_deleted` = 0"
    )
    assert ddl.current_view(keyless) == (
        "CREATE OR REPLACE VIEW `db`.`e_current` AS SELECT * FROM `db`.`e` WHERE `_sdc_is_deleted` = 0"
    )


def test_alter_statements_and_the_database():
    spec = ddl.TableSpec("db", "t", {"id": "String"}, ("id",))

    assert ddl.add_column(spec, "x y", "Nullable(String)") == (
        "ALTER TABLE `db`.`t` ADD COLUMN IF NOT EXISTS `x y` Nullable(String)"
    )
    assert ddl.modify_column(spec, "n", "Nullable(Float64)") == (
        "ALTER TABLE `db`.`t` MODIFY COLUMN `n` Nullable(Float64)"
    )
    assert ddl.create_database("db", None) == "CREATE DATABASE IF NOT EXISTS `db`"


@pytest.mark.parametrize(
    ("existing", "wanted", "result"),
    [
        ("Nullable(Bool)", "Nullable(Int64)", "Int64"),
        ("Int64", "Bool", None),
        ("Nullable(Decimal(18, 2))", "Nullable(Decimal(18, 4))", "Decimal(20, 4)"),
        ("Nullable(Decimal(20, 4))", "Nullable(Decimal(18, 2))", None),
        ("Nullable(Decimal(10, 2))", "Nullable(Decimal(30, 4))", "Decimal(30, 4)"),
        ("Nullable(Decimal(30, 4))", "Nullable(Decimal(10, 6))", "Decimal(32, 6)"),
        ("Nullable(Decimal(10, 2))", "Nullable(Float64)", "Float64"),
        ("Nullable(Date32)", "Nullable(Date32)", None),
    ],
)
def test_more_widening_rules(existing, wanted, result):
    assert ddl.widen(existing, wanted) == result


def test_a_table_records_its_stream_in_its_comment_on_a_cluster_too():
    spec = ddl.TableSpec("db", "le_ads", {"id": "String"}, ("id",), "c1", owner="le;ads")

    assert ddl.create_table(spec).endswith("\nCOMMENT 'target-clickhouse stream: \"le;ads\"'")
    assert ddl.stamp_comment(spec) == (
        "ALTER TABLE `db`.`le_ads` ON CLUSTER `c1` MODIFY COMMENT "
        "'target-clickhouse stream: \"le;ads\"'"
    )
    assert ddl.stamped_stream(ddl.stamp("a'\x00\\b")) == "a'\x00\\b"
    assert ddl.stamped_stream("a comment someone wrote") is None


def test_nul_in_identifiers_and_literals_is_escaped_for_the_engine():
    assert ddl.quote("a\x00b") == "`a\\0b`"
    assert ddl.literal("a\x00'b") == "'a\\0\\'b'"
    assert ddl.literal("a\\b") == "'a\\\\b'"  # a backslash is escaped, not read as one


def test_a_comment_naming_no_stream_or_a_table_without_an_owner_claims_none():
    spec = ddl.TableSpec("db", "t", {"id": "String"}, ("id",))

    assert ddl.stamped_stream(ddl.STAMP + "5") is None  # JSON, but not a stream name
    assert ddl.stamp_comment(spec).endswith("COMMENT 'target-clickhouse stream: \"\"'")


def test_a_name_with_a_lone_surrogate_still_gets_its_short_hash():
    assert ddl.short_hash("Leads\ud800") == ddl.short_hash("Leads\ud800")
    assert ddl.table_name("", "Leads\ud800").startswith("Leads_")


@pytest.mark.parametrize(
    ("stream", "table"),
    [
        ("a" * 150, "a" * 150),  # the longest name kept as it is
        ("a" * 141 + "b" * 100, "a" * 141 + "_"),  # cut to 141 characters, then the hash
        ("a" * 139 + "X_" + "b" * 100, "a" * 139 + "X_"),  # no "_" left at the cut
    ],
    ids=["at-the-limit", "cut", "cut-at-an-underscore"],
)
def test_a_long_name_is_cut_and_told_apart_by_its_hash(stream, table):
    name = ddl.table_name("", stream)

    if len(stream) <= ddl.MAX_TABLE_NAME:
        assert name == table
    else:
        assert name == table + ddl.short_hash(stream)


def test_cluster_ddl_uses_on_cluster_and_replicated_engines():
    spec = ddl.TableSpec(
        "analytics", "zoho_leads", {"id": "String", "n": "Nullable(Int64)"}, ("id",), cluster="main"
    )
    create = ddl.create_table(spec)
    assert "CREATE TABLE IF NOT EXISTS `analytics`.`zoho_leads` ON CLUSTER `main`" in create
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}',"
        " '{replica}', `_sdc_version`, `_sdc_is_deleted`)"
    ) in create
    assert "ORDER BY (`id`)" in create
    keyless = ddl.create_table(
        ddl.TableSpec("analytics", "events", {"e": "Nullable(String)"}, (), cluster="main")
    )
    assert (
        "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
        in keyless
    )
    assert "ON CLUSTER `main`" in ddl.add_column(spec, "x", "Nullable(String)")
    assert "ON CLUSTER `main`" in ddl.modify_column(spec, "n", "Nullable(Float64)")
    assert "ON CLUSTER `main`" in ddl.current_view(spec)
    assert ddl.create_database("analytics", "main") == (
        "CREATE DATABASE IF NOT EXISTS `analytics` ON CLUSTER `main`"
    )


def test_ddl_without_cluster_is_plain():
    spec = ddl.TableSpec("db", "t", {"id": "String"}, ("id",))
    assert "ON CLUSTER" not in ddl.create_table(spec)
    assert "ENGINE = ReplacingMergeTree(`_sdc_version`, `_sdc_is_deleted`)" in ddl.create_table(
        spec
    )


def test_widening_rules():
    assert ddl.widen("Nullable(Int64)", "Nullable(Float64)") == "Float64"
    assert ddl.widen("Nullable(Float64)", "Nullable(Int64)") is None
    assert ddl.widen("Nullable(Int64)", "Nullable(Decimal(18, 2))") == "Decimal(18, 2)"
    assert ddl.widen("Nullable(Decimal(18, 2))", "Nullable(Decimal(20, 4))") == "Decimal(20, 4)"
    assert ddl.widen("Nullable(Bool)", "Nullable(String)") == "String"
    assert ddl.widen("Nullable(DateTime64(6, 'UTC'))", "Nullable(Int64)") == "String"
    assert ddl.widen("Nullable(String)", "Nullable(Int64)") is None
