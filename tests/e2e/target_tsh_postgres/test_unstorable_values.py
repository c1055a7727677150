"""Values PostgreSQL cannot store: the rest of the run is stored, the bad ones named (issue 20.8).

NUL and lone surrogates are removed from values (a warning names the item); an id holding them,
a number out of its column's range, an impossible time, a value over a bounded column's length
or nested deeper than the target reads refuses its row alone, reported by id, column and value.
Never a crash, never the batch. The real PostgreSQL of the test session, the target in-process
and as its command line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from target_tsh_postgres.target import TooManyFailuresError

from tests.support.erp import CONTACT_SCHEMA, ITEM_SCHEMA, connect, contact, item, query
from tests.support.erp import run_target as run

TARGET = Path(sys.executable).with_name("target-tsh-postgres")
GOOD = [item(str(n), name=f"Filter {n}") for n in range(1, 6)]


def _stored_ids(dsn) -> list[str]:
    return [i for (i,) in query(dsn, "SELECT zoho_item_id FROM products ORDER BY 1")]


def test_a_nul_in_a_name_is_removed_the_item_stored_and_named_in_a_warning(
    erp_db, tmp_path, caplog
):
    bad = item("9", name="Oil\x00 filter", description="a\x00b")

    states, report, error = run(
        erp_db, [ITEM_SCHEMA, *GOOD, bad, {"type": "STATE", "value": {"n": 1}}], tmp_path
    )

    assert error is None
    assert states == [{"n": 1}]
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5", "9"]
    assert query(
        erp_db,
        "SELECT name, description, zoho_data->>'name' FROM products WHERE zoho_item_id = '9'",
    ) == [("Oil filter", "ab", "Oil filter")]
    assert report["repaired"] == 1
    assert report["repairs"] == [
        {
            "table": "products",
            "stream": "books_items",
            "zoho_id": "9",
            "fields": ["name", "description"],
        }
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("products 9" in w and "name, description" in w for w in warnings)


def test_a_lone_surrogate_escape_is_removed_and_the_item_stored(erp_db, tmp_path):
    lines = [json.dumps(m) for m in [ITEM_SCHEMA, *GOOD]]
    lines.append(json.dumps(item("9", name="Filter XX")).replace("XX", "\\ud83d"))

    report, code, stderr = _cli(erp_db, tmp_path, "\n".join(lines) + "\n")

    assert code == 0, stderr
    assert query(erp_db, "SELECT name FROM products WHERE zoho_item_id = '9'") == [("Filter ",)]
    assert report["repairs"][0]["fields"] == ["name"]


@pytest.mark.parametrize(
    ("field", "value", "column"),
    [
        ("rate", 1e20, "price"),  # NUMERIC(20, 6) holds less than 10^14
        ("rate", "12\n99\tinjected", "price"),  # a string where a number belongs
        ("last_modified_time", "2024-13-45T10:00:00+0000", "source_modified_at"),
    ],
)
def test_a_value_its_column_cannot_hold_refuses_only_its_row_named_by_column_and_value(
    erp_db, tmp_path, field, value, column
):
    bad = item("9", **{field: value})

    _, report, error = run(erp_db, [ITEM_SCHEMA, *GOOD, bad], tmp_path)

    assert isinstance(error, TooManyFailuresError)
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    refused = [e for e in report["errors"] if e["table"] == "products"]
    assert [(e["stream"], e["zoho_id"], e["field"]) for e in refused] == [
        ("books_items", "9", column)
    ]
    assert (
        refused[0]["value"] == repr(value)
        if isinstance(value, str)
        else str(value) in refused[0]["value"]
    )
    first_line = str(error)
    assert "stream 'books_items'" in first_line
    assert f"column {column}" in first_line
    assert "value " in first_line


def test_a_string_where_a_number_belongs_cannot_add_rows_of_its_own(erp_db, tmp_path):
    # Tab and newline end a COPY column and line: unescaped, this value would complete its own
    # row and start a forged one (item 666) with the rest of the line.
    rest_of_row = ["1", "1", "1", "t", "x", "x", "x", "\\N", "\\N", "{}", "0"]
    forged = ["666", "org", "sku", "Forged", "d", "pcs", "7"]
    value = "5\t" + "\t".join(rest_of_row) + "\n" + "\t".join(forged)

    _, report, error = run(erp_db, [ITEM_SCHEMA, *GOOD, item("9", rate=value)], tmp_path)

    assert isinstance(error, TooManyFailuresError)
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    assert query(erp_db, "SELECT count(*) FROM products WHERE name = 'Forged'") == [(0,)]
    assert {(e["zoho_id"], e["field"]) for e in report["errors"]} == {
        ("9", "price"),
        ("9/base", "price"),
    }


def test_a_record_refused_alone_in_its_batch_is_still_reported(erp_db, tmp_path):
    _, report, error = run(erp_db, [ITEM_SCHEMA, item("12\x003")], tmp_path)

    assert isinstance(error, TooManyFailuresError)
    assert report["failed"] == 2  # the product and its base price
    assert {e["table"] for e in report["errors"]} == {"products", "product_prices"}


def test_a_listing_holding_unstorable_ids_and_names_marks_and_stores_the_rest(erp_db, tmp_path):
    stream = "books\x00_items"
    schema = {**ITEM_SCHEMA, "stream": stream}

    def listing(ids, version):
        return [
            {**item(i, stream=stream, organization_id="org\x001"), "version": version} for i in ids
        ]

    run(erp_db, [schema, *listing(["1", "2", "3", "4\x00"], 1)], tmp_path, max_failed_rows=2)
    (tmp_path / "again").mkdir()

    _, report, error = run(
        erp_db,
        [
            schema,
            *listing(["1", "2", "4\x00"], 2),
            {"type": "ACTIVATE_VERSION", "stream": stream, "version": 2},
        ],
        tmp_path / "again",
        max_failed_rows=2,
    )

    assert error is None
    assert query(
        erp_db, "SELECT zoho_item_id, organization_id, is_active FROM products ORDER BY 1"
    ) == [("1", "org1", True), ("2", "org1", True), ("3", "org1", False)]
    assert report["deactivated"] == 1


def test_a_field_name_with_a_line_break_stays_on_the_one_error_line(erp_db, tmp_path):
    deep = "[" * 20_000 + "]" * 20_000
    lines = [json.dumps(m) for m in [ITEM_SCHEMA, *GOOD]]
    lines.append(json.dumps(item("9", **{"tr\nee": "DEEP"})).replace('"DEEP"', deep))

    _, code, stderr = _cli(erp_db, tmp_path, "\n".join(lines) + "\n")

    assert code == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("target-tsh-postgres: error: stream 'books_items': products 9 refused")
    assert "column 'tr\\nee'" in last


def test_a_number_out_of_an_integer_column_refuses_the_customer_alone(erp_db, tmp_path):
    _, report, error = run(
        erp_db,
        [CONTACT_SCHEMA, contact("c1"), contact("c2", payment_terms=2**40), contact("c3")],
        tmp_path,
        max_failed_rows=1,
    )

    assert error is None
    assert query(erp_db, "SELECT zoho_contact_id FROM customers ORDER BY 1") == [("c1",), ("c3",)]
    assert [(e["zoho_id"], e["field"], e["value"]) for e in report["errors"]] == [
        ("c2", "payment_terms", str(2**40))
    ]


def test_a_number_beyond_a_float_in_the_input_refuses_its_row_not_the_run(erp_db, tmp_path):
    lines = [json.dumps(m) for m in [ITEM_SCHEMA, *GOOD]]
    lines.append(json.dumps(item("9", rate=7.5)).replace("7.5", "1e400"))

    report, code, stderr = _cli(erp_db, tmp_path, "\n".join(lines) + "\n", max_failed_rows=2)

    assert code == 0, stderr
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    assert {(e["table"], e["field"]) for e in report["errors"]} == {
        ("products", "price"),
        ("product_prices", "price"),
    }


def test_an_id_postgres_cannot_store_refuses_its_record_and_the_cli_says_which(erp_db, tmp_path):
    lines = "".join(json.dumps(m) + "\n" for m in [ITEM_SCHEMA, *GOOD, item("12\x003")])

    report, code, stderr = _cli(erp_db, tmp_path, lines)

    assert code == 1
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("target-tsh-postgres: error: stream 'books_items': products")
    assert "column item_id, value '12\\x003'" in last
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    assert report["errors"][0]["zoho_id"] == "'12\\x003'"


def test_json_nested_deeper_than_the_target_reads_refuses_its_item_alone(erp_db, tmp_path):
    deep = "[" * 20_000 + "]" * 20_000
    shallow = "[" * 300 + "]" * 300
    lines = [json.dumps(m) for m in [ITEM_SCHEMA, *GOOD]]
    lines.append(json.dumps(item("9", tree="DEEP")).replace('"DEEP"', deep))
    lines.append(json.dumps(item("8", tree="DEEP")).replace('"DEEP"', shallow))

    report, code, stderr = _cli(erp_db, tmp_path, "\n".join(lines) + "\n", max_failed_rows=2)

    assert code == 0, stderr
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5", "8"]
    assert [(e["table"], e["zoho_id"], e["field"]) for e in report["errors"]] == [
        ("products", "9", "tree"),
        ("product_prices", "9", "tree"),
    ]


def test_an_id_too_long_for_the_key_index_is_refused_not_retried(erp_db, tmp_path):
    long_id = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(4_000))

    _, report, error = run(
        erp_db, [ITEM_SCHEMA, *GOOD, item(long_id)], tmp_path, write_retry_seconds=2
    )

    assert isinstance(error, TooManyFailuresError)
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    assert report["errors"][0]["table"] == "products"


def test_a_value_over_a_bounded_column_of_the_erp_is_refused_naming_the_column(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA], tmp_path)  # creates the tables
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("ALTER TABLE products ALTER COLUMN sku TYPE VARCHAR(12)")
    conn.commit()
    conn.close()

    _, report, error = run(
        erp_db, [ITEM_SCHEMA, *GOOD, item("9", sku="SKU-" + "9" * 20)], tmp_path, max_failed_rows=1
    )

    assert error is None
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5"]
    assert [(e["zoho_id"], e["field"]) for e in report["errors"]] == [("9", "sku")]


def test_the_same_bad_records_do_not_stop_a_later_run(erp_db, tmp_path):
    bad = [item("9", name="a\x00b"), item("10", rate=1e20)]
    for n in range(2):
        (tmp_path / str(n)).mkdir()
        _, report, error = run(
            erp_db, [ITEM_SCHEMA, *GOOD, *bad], tmp_path / str(n), max_failed_rows=2
        )
        assert error is None
        assert report["failed"] == 2

    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5", "9"]
    assert query(erp_db, "SELECT price FROM products WHERE zoho_item_id = '1'") == [
        (Decimal("12.500000"),)
    ]


def test_the_cli_stores_every_good_row_around_a_nul_byte_item_and_exits_0(erp_db, tmp_path):
    records = [*GOOD[:3], item("9", name="Nul\x00 item"), *GOOD[3:]]
    lines = "".join(json.dumps(m) + "\n" for m in [ITEM_SCHEMA, *records])
    lines += json.dumps({"type": "STATE", "value": {"done": True}}) + "\n"

    report, code, stderr, stdout = _cli(erp_db, tmp_path, lines, with_stdout=True)

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert _stored_ids(erp_db) == ["1", "2", "3", "4", "5", "9"]
    assert query(erp_db, "SELECT name FROM products WHERE zoho_item_id = '9'") == [("Nul item",)]
    assert any(
        "products 9" in line and "removed from: name" in line for line in stderr.splitlines()
    )
    assert report["failed"] == 0
    assert [json.loads(x) for x in stdout.splitlines() if x.strip()] == [{"done": True}]


def _cli(dsn, tmp_path, lines, *, with_stdout=False, **config):
    path = tmp_path / "config.json"
    report = tmp_path / "cli-report.json"
    path.write_text(json.dumps({**dsn, "report_path": str(report), **config}))
    done = subprocess.run(
        [str(TARGET), "--config", str(path)],
        input=lines.encode(),
        capture_output=True,
        timeout=300,
        check=False,
    )
    stderr = done.stderr.decode(errors="backslashreplace")
    summary = json.loads(report.read_text()) if report.exists() else None
    if with_stdout:
        return summary, done.returncode, stderr, done.stdout.decode()
    return summary, done.returncode, stderr
