"""What target-tsh-postgres assumes of singer-sdk still holds (the SDK range is pinned).

The target overrides one private SDK member, ``Sink._validate_and_parse`` (no public hook skips
the SDK's date-time parsing). Everything else it builds on is public: the reader's
``process_lines(file_input, callbacks)`` contract, through which STATE messages go to the target
instead of the SDK, and ``drain_all``. When a new SDK release changes one of these, a test here
fails before a user's STATE goes out ahead of its rows.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json

from singer_sdk import Target
from singer_sdk.singerlib import SingerMessageType
from singer_sdk.singerlib.encoding.base import GenericSingerReader
from target_tsh_postgres.reader import ErpReader
from target_tsh_postgres.sinks import ErpSink
from target_tsh_postgres.target import TargetTshPostgres

from tests.support.sdk_assumptions import (
    assert_the_sdk_parses_records_in_validate_and_parse,
    private_overrides,
)

PRIVATE_OVERRIDES = {"_validate_and_parse"}


def test_the_sdk_validates_and_parses_each_record_through_validate_and_parse():
    assert_the_sdk_parses_records_in_validate_and_parse()


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
