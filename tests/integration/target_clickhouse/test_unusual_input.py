"""Any stream name, property name and value: the target loads it or stops with one clear line.

A property-based test (Hypothesis) feeds random streams (any Unicode, NUL included), random
property names and types, and random values (huge numbers, deep nesting, any text) to the target
in-process, and checks after every run: it either loaded, or it raised one of the errors the
command line turns into one line, naming the stream (and, for a value, column and value); no two
streams share a table; every record covered by a STATE the target emitted is in its table. One
hostile example also goes through the real command line, which must print no traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from target_clickhouse import ddl
from target_clickhouse.errors import BadRecordError
from target_clickhouse.target import _ONE_LINE_ERRORS, TargetClickHouse

from tests.support.clickhouse import CHDB_PATH, rows

TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date-time": {"type": ["string", "null"], "format": "date-time"},
    "date": {"type": ["string", "null"], "format": "date"},
    "object": {"type": ["object", "null"]},
    "array": {"type": ["array", "null"], "items": {}},
    "decimal": {
        "type": ["number", "null"],
        "x-sql-datatype": "decimal",
        "x-sql-datatype-properties": {"precision": 18, "scale": 2},
    },
    "any": {},
}


def nested(depth: int) -> Any:
    value: Any = "deep"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


class Deep:
    """A value nested ``depth`` levels deep, built when the message is written (short repr)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def __repr__(self) -> str:
        return f"nested({self.depth})"


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, default=lambda deep: nested(deep.depth))


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["2024-02-29T10:00:00+05:30", "2024-02-30", "1e400", "", "\x00", "NaN"]),
)
values = st.one_of(
    scalars,
    st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    ),
    st.integers(min_value=0, max_value=1500).map(Deep),
)
names = st.text(max_size=24)


@st.composite
def streams(draw: st.DrawFn) -> dict[str, Any]:
    """Streams (1-3) with random names and properties; records with unique ids; STATEs."""
    stream_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    chunks: list[list[dict[str, Any]]] = []
    for stream in stream_names:
        props = draw(
            st.dictionaries(
                names.filter(lambda n: n != "id"), st.sampled_from(sorted(TYPES)), max_size=4
            )
        )
        schema = {"id": {"type": ["string"]}} | {n: TYPES[k] for n, k in props.items()}
        chunk: list[dict[str, Any]] = [
            {"type": "SCHEMA", "stream": stream, "schema": {"properties": schema},
             "key_properties": ["id"]}
        ]  # fmt: skip
        for number in range(draw(st.integers(min_value=1, max_value=4))):
            record = {"id": str(number)} | draw(
                st.fixed_dictionaries({}, optional=dict.fromkeys(props, values))
            )
            chunk.append({"type": "RECORD", "stream": stream, "record": record})
            chunk.append({"type": "STATE", "value": {stream: number}})
        chunks.append(chunk)
    # Streams interleave at random; each keeps its own order (SCHEMA, then RECORD, STATE...).
    picks = draw(st.lists(st.integers(0, len(chunks) - 1), max_size=40))
    interleaved: list[dict[str, Any]] = []
    cursors = [0] * len(chunks)
    for which in picks:
        if cursors[which] < len(chunks[which]):
            interleaved.append(chunks[which][cursors[which]])
            cursors[which] += 1
    for which, chunk in enumerate(chunks):
        interleaved.extend(chunk[cursors[which] :])
    return {"streams": stream_names, "messages": interleaved}


def run(database: str, messages: list[dict[str, Any]]) -> tuple[list[dict], Exception | None]:
    """One in-process run, as ``target-clickhouse`` would do it: STATEs out, or the error."""
    text = "".join(encode(m) + "\n" for m in messages)
    out = io.StringIO()
    error: Exception | None = None
    with contextlib.redirect_stdout(out):
        try:
            TargetClickHouse(config={"path": CHDB_PATH, "database": database,
                                     "batch_size_rows": 2}).listen(io.StringIO(text))  # fmt: skip
        except _ONE_LINE_ERRORS as exc:
            error = exc
    return [json.loads(line) for line in out.getvalue().splitlines()], error


def check_error(error: Exception, streams: list[str]) -> None:
    """Only a value may stop a run, named with its stream and column in one line."""
    message = str(error)
    assert isinstance(error, BadRecordError), message
    assert "\n" not in message, message
    assert re.fullmatch(r"stream .+: column .+ \(.+\): cannot store value .+", message), message
    assert any(message.startswith(f"stream {s!r}: ") for s in streams), message


def check_tables(ch, database: str, streams: list[str], states: list[dict], sent: list) -> None:
    owners: dict[str, str] = {}
    for name, comment in rows(
        ch,
        "SELECT name, comment FROM system.tables WHERE database = {d:String} "
        "AND engine LIKE '%MergeTree'",
        d=database,
    ):
        owner = ddl.stamped_stream(comment)
        assert owner in streams, (name, comment)
        assert owner not in owners, f"{owner!r} loads {owners[owner]!r} and {name!r}"
        owners[owner] = name
    committed: dict[str, int] = {}
    for state in states:
        ((stream, number),) = state.items()
        committed[stream] = max(committed.get(stream, -1), number)
    for stream, number in committed.items():
        stored = {i for (i,) in rows(ch, f"SELECT id FROM {database}.`{owners[stream]}`")}
        expected = {
            m["record"]["id"]
            for m in sent
            if m["type"] == "RECORD" and m["stream"] == stream
            and int(m["record"]["id"]) <= number
        }  # fmt: skip
        assert expected <= stored, f"{stream!r}: committed {expected - stored} lost"


@settings(
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(case=streams())
def test_any_input_loads_or_ends_in_one_line_and_keeps_what_it_committed(ch, case):
    import uuid

    database = f"h_{uuid.uuid4().hex[:12]}"
    states, error = run(database, case["messages"])

    event("refused in one line" if error is not None else "loaded")
    if error is not None:
        check_error(error, case["streams"])
    check_tables(ch, database, case["streams"], states, case["messages"])


TARGET = Path(sys.executable).with_name("target-clickhouse")


def test_hostile_input_through_the_cli_ends_in_one_line_without_a_traceback(tmp_path):
    streams = ["le\x00ads", "le-ads", "Лиды", "x" * 400]
    lines = []
    for stream in streams:
        props = {"id": {"type": ["string"]}, "a\x00b": {}, "": {"type": ["integer", "null"]},
                 "deep": {"type": ["array", "null"]}}  # fmt: skip
        lines.append({"type": "SCHEMA", "stream": stream, "schema": {"properties": props},
                      "key_properties": ["id"]})  # fmt: skip
        lines.append({"type": "RECORD", "stream": stream,
                      "record": {"id": "1", "a\x00b": "v\x00", "": 5, "deep": "DEEP"}})  # fmt: skip
        lines.append({"type": "STATE", "value": {"s": stream}})
    lines.append({"type": "RECORD", "stream": "le-ads", "record": {"id": "2", "": 2**70}})
    (tmp_path / "config.json").write_text(json.dumps({"path": str(tmp_path / "data")}))
    result = subprocess.run(
        [str(TARGET), "--config", str(tmp_path / "config.json")],
        input="".join(json.dumps(m) + "\n" for m in lines).replace(
            '"DEEP"',
            "[" * 900 + "1" + "]" * 900,  # deeper than ClickHouse reads by default
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert "Traceback" not in result.stderr
    errors = [x for x in result.stderr.splitlines() if x.startswith("target-clickhouse: error:")]
    assert result.returncode == 1
    assert errors == [
        (
            "target-clickhouse: error: stream 'le-ads': column '_source_' (Nullable(Int64)): "
            f"cannot store value {2**70}"
        )
    ]
    assert result.stdout == ""  # no STATE: the run failed before any was due


def test_a_line_nested_deeper_than_python_reads_ends_in_one_line_naming_its_stream(tmp_path):
    lines = [
        {"type": "SCHEMA", "stream": "s", "key_properties": ["id"],
         "schema": {"properties": {"id": {"type": ["string"]}, "deep": {}}}},
        {"type": "RECORD", "stream": "s", "record": {"id": "1", "deep": "DEEP"}},
    ]  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps({"path": str(tmp_path / "data")}))
    result = subprocess.run(
        [str(TARGET), "--config", str(tmp_path / "config.json")],
        input="".join(json.dumps(m) + "\n" for m in lines).replace(
            '"DEEP"', "[" * 5000 + "1" + "]" * 5000
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (error,) = [x for x in result.stderr.splitlines() if "target-clickhouse: error:" in x]
    assert "nested too deeply to read" in error
    assert '"stream": "s"' in error
