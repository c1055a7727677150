"""What target-tsh-postgres assumes of singer-sdk still holds (the SDK range is pinned).

The target overrides no private SDK member. It keeps the SDK from parsing date-times it would only
write back as text by giving its sinks a working ``schema`` without date formats, which holds only
while the SDK parses by ``Sink.schema``. Everything else it builds on is public: the reader's
``process_lines(file_input, callbacks)`` contract, through which STATE messages go to the target
instead of the SDK, and ``drain_all``. When a new SDK release changes one of these, a test here
fails before a user's STATE goes out ahead of its rows.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import json
from types import SimpleNamespace

from singer_sdk import Target
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.singerlib.encoding.base import GenericSingerReader
from singer_sdk.sinks import Sink
from target_tsh_postgres.reader import ErpReader
from target_tsh_postgres.sinks import ErpSink
from target_tsh_postgres.target import TargetTshPostgres

from tests.support.sdk_assumptions import (
    assert_the_sdk_parses_records_in_validate_and_parse,
    private_overrides,
)

PRIVATE_OVERRIDES: set[str] = set()
STAMPED = {
    "type": "object",
    "properties": {
        "contact_id": {"type": ["string"]},
        "last_modified_time": {"type": ["string", "null"], "format": "date-time"},
        "created": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
    },
}


class _Probe(ErpSink):
    """A customers sink without a database: customers need no items listing."""

    writer = SimpleNamespace(settings=None)  # type: ignore[assignment]


def test_the_sdk_validates_and_parses_each_record_by_the_sink_schema():
    assert_the_sdk_parses_records_in_validate_and_parse()
    parse = inspect.getsource(Sink._validate_and_parse)
    assert "schema=self.schema" in parse


def test_date_times_reach_the_mapping_as_sent_while_the_stream_schema_keeps_its_formats():
    sink = _Probe(TargetTshPostgres(config={}), "customers", copy.deepcopy(STAMPED), ["contact_id"])
    record = {
        "contact_id": "1",
        "last_modified_time": "2026-03-01T10:00:00+03:00",
        "created": "2026-02-28",
    }
    parsed = sink._validate_and_parse(dict(record))  # what the SDK calls per record
    assert {k: parsed[k] for k in record} == record
    assert sink.original_schema["properties"] == STAMPED["properties"]


def test_the_only_private_sdk_members_overridden_are_the_pinned_ones():
    assert private_overrides(TargetTshPostgres, ErpSink, ErpReader) == PRIVATE_OVERRIDES


def test_the_reader_gets_a_state_callback_and_the_sdk_writes_state_only_when_it_saw_one():
    assert list(inspect.signature(GenericSingerReader.process_lines).parameters) == [
        "self",
        "file_input",
        "callbacks",
    ]
    source = inspect.getsource(Target.drain_all)
    assert "if self._latest_state:" in source  # no STATE received: none written
    seen: dict[str, object] = {}

    class Probe(ErpReader):
        def process_lines(self, file_input, callbacks):  # type: ignore[no-untyped-def]
            seen.update(callbacks)
            return super().process_lines(file_input, callbacks)

    target = TargetTshPostgres(config={}, message_reader=Probe())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO(json.dumps({"type": "STATE", "value": {"n": 1}}) + "\n"))
    assert SingerMessageType.STATE in seen
    assert SingerMessageType.RECORD in seen
    # The target, not the SDK, wrote the STATE (once, after its writer had nothing pending).
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [{"n": 1}]
