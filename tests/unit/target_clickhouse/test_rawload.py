"""The raw load path's generated SQL and record text (target_clickhouse.rawload), without an engine."""

from __future__ import annotations

import typing as t

from target_clickhouse import ddl, rawload

if t.TYPE_CHECKING:
    import msgspec


import io

from target_clickhouse.reader import RawRecordReader

ODD = "it's `q` $€"


def plan(**columns: str) -> rawload.LoadPlan:
    spec = ddl.TableSpec("db", "t", dict(columns), ("id",))
    cols = tuple(rawload.Column(n, t, key=n == "id") for n, t in columns.items())
    return rawload.LoadPlan(spec, cols, bookmark="at" if "at" in columns else None)


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
    assert rawload.failed_column("Code: 395. target-clickhouse check #3: while executing") == 3
    assert rawload.failed_row("bad (while reading the value of key a.b): (at row 7) :") == (
        6,
        "a.b",
    )


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
