"""Any stream name, property name and value into target-tsh-postgres: it loads, or says what.

Hypothesis writes Singer input with random stream names (routed to the ERP tables or not),
random property names and values: any Unicode, NUL, lone surrogates, numbers far beyond any
column, deep nesting. Each example runs the command line's entry point in-process on a fresh
schema. Every run either loads everything or ends with exit code 1 and one line naming the
stream, the column and the value; nothing escapes as a traceback; and every row not refused is
in the ERP (refused rows are in the report, by id).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import uuid
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from target_tsh_postgres.storable import shown
from target_tsh_postgres.target import main

from tests.support.erp import query


class Raw:
    """JSON text written as it is: numbers beyond a float, nesting beyond any parser's stack."""

    def __init__(self, text: str) -> None:
        self.text = text


def to_json(value: object) -> str:
    """JSON with escapes for NUL and lone surrogates, and :class:`Raw` text left as it is."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(map(to_json, value)) + "]"
    return json.dumps(value)


CHARS = st.one_of(
    st.characters(exclude_categories=()),  # any code point, surrogates included
    st.sampled_from(["\x00", "\ud83d", "\udc00", "\t", "\n", "\\", '"', "\x7f"]),
)
TEXT = st.text(CHARS, max_size=12)
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1e400", "-1e400", "1e-400", "99999999999999.9999999", "-0.0"]).map(Raw),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXT)
DEEP = st.integers(min_value=1, max_value=30_000).map(lambda d: Raw("[" * d + "]" * d))
VALUES = st.one_of(
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
        max_leaves=8,
    ),
    DEEP,
)
IDS = st.one_of(st.integers(0, 50).map(str), st.integers(0, 50), TEXT.filter(bool))
TIMES = st.one_of(
    st.none(),
    st.sampled_from(["2024-01-05T10:20:30+0530", "2024-01-05T10:20:30Z", "2024-02-01T00:00:00"]),
)
SUFFIXES = {"_items": "item_id", "_contacts": "contact_id", "_pricebooks": "pricebook_id"}
KNOWN = {"item_id", "contact_id", "pricebook_id", "last_modified_time", "pricebook_items"}
STREAMS = st.one_of(
    st.sampled_from(["books_items", "inventory_items", "books_contacts", "books_pricebooks"]),
    st.tuples(TEXT, st.sampled_from([*SUFFIXES, "_other"])).map("".join),
)


@st.composite
def records(draw: st.DrawFn, stream: str) -> dict[str, object]:
    record: dict[str, object] = {
        name: draw(VALUES)
        for name in draw(st.lists(TEXT.filter(lambda n: n not in KNOWN), max_size=4))
    }
    for field in ("name", "rate", "stock_on_hand", "payment_terms", "contact_type"):
        if draw(st.booleans()):
            record[field] = draw(VALUES)
    if draw(st.booleans()):
        record["contact_type"] = "customer"
    record["last_modified_time"] = draw(TIMES)
    key = next((k for suffix, k in SUFFIXES.items() if stream.endswith(suffix)), "id")
    record[key] = draw(IDS)
    if key == "pricebook_id":
        entries = st.fixed_dictionaries({"item_id": IDS, "pricebook_rate": VALUES})
        record["pricebook_items"] = draw(st.lists(entries, max_size=3))
    return record


@st.composite
def inputs(draw: st.DrawFn) -> list[tuple[str, dict[str, object]]]:
    streams = draw(st.lists(STREAMS, min_size=1, max_size=3, unique=True))
    return [
        (stream, record)
        for stream in streams
        for record in draw(st.lists(records(stream), min_size=1, max_size=4))
    ]


def _lines(messages: list[tuple[str, dict[str, object]]]) -> str:
    out, declared = [], set()
    for stream, record in messages:
        if stream not in declared:
            declared.add(stream)
            key = next((k for suffix, k in SUFFIXES.items() if stream.endswith(suffix)), "id")
            schema = {"type": "SCHEMA", "stream": stream, "key_properties": [key]}
            out.append(to_json({**schema, "schema": {"properties": {}}}))
        out.append(to_json({"type": "RECORD", "stream": stream, "record": record}))
    out.append(to_json({"type": "STATE", "value": {"done": True}}))
    return "\n".join(out) + "\n"


def _run(dsn: dict[str, object], text: str, tmp_path) -> tuple[int, str, dict | None, str]:
    name = uuid.uuid4().hex[:8]
    schema = f"any_{name}"
    config, source, report = (tmp_path / f"{name}.{x}" for x in ("json", "singer", "report"))
    config.write_text(json.dumps({**dsn, "schema": schema, "report_path": str(report)}))
    source.write_text(text, encoding="utf-8")
    argv = ["target-tsh-postgres", "--config", str(config), "--input", str(source)]
    stderr = io.StringIO()
    with (
        mock.patch.object(sys, "argv", argv),
        contextlib.redirect_stderr(stderr),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            main()
            code = 0
        except SystemExit as done:  # the command line's way out; anything else is a traceback
            code = int(done.code or 0)
    summary = json.loads(report.read_text()) if report.exists() else None
    return code, stderr.getvalue(), summary, schema


def _expected(messages) -> dict[str, set[tuple[str, ...]]]:
    """The keys each table holds when nothing is refused."""
    expected: dict[str, set[tuple[str, ...]]] = {"products": set(), "customers": set()}
    expected["product_prices"] = set()
    for stream, record in messages:
        if stream.endswith("_items"):
            expected["products"].add((str(record["item_id"]),))
            expected["product_prices"].add((str(record["item_id"]), "base"))
        elif stream.endswith("_contacts") and record.get("contact_type", "customer") == "customer":
            expected["customers"].add((str(record["contact_id"]),))
        elif stream.endswith("_pricebooks") and record.get("sales_or_purchase_type") != "purchases":
            for entry in record["pricebook_items"]:
                expected["product_prices"].add((str(entry["item_id"]), str(record["pricebook_id"])))
    return expected


KEYS = {
    "products": "zoho_item_id",
    "customers": "zoho_contact_id",
    "product_prices": "zoho_item_id, zoho_pricebook_id",
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(messages=inputs())
def test_any_input_loads_or_ends_in_one_line_naming_stream_column_and_value(
    erp_db, tmp_path, messages
):
    code, stderr, report, schema = _run(erp_db, _lines(messages), tmp_path)

    assert report is not None, stderr[-2000:]
    assert code == (1 if report["failed"] else 0), stderr[-2000:]
    if code:
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("target-tsh-postgres: error: stream "), last
        assert any(f"stream {stream!r}" in last for stream, _ in messages), last
        assert " column " in last, last
        assert " value " in last, last
    refused = {
        (e["table"], e["zoho_id"].split("/")[0] if e["table"] == "product_prices" else e["zoho_id"])
        for e in report["errors"]
    }
    for table, keys in _expected(messages).items():
        if not keys:  # no stream of this table: the table may not even exist
            continue
        rows = query(erp_db, f"SELECT {KEYS[table]} FROM {schema}.{table}")
        stored = {tuple(map(str, row)) for row in rows}
        for key in keys - stored:
            assert (
                (table, key[0]) in refused
                or (table, shown(key[0])) in refused
                or any(t == table for t, _ in refused if table == "product_prices")
            ), (table, key, report["errors"])
