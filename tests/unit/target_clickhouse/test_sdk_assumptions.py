"""What target-clickhouse assumes of singer-sdk still holds (the SDK range is pinned).

The list lives in ``target_clickhouse/target.py``'s docstring: the public reader hook
(``message_reader_class``, ``process_lines(file_input, callbacks)``) through which STATE goes to
the writer instead of the SDK, ``drain_all`` handing every non-empty sink's batch over, ``add_sink``
setting each new sink up, and the one private member overridden, ``Sink._validate_and_parse``.
When a new SDK release changes one of these, a test here fails instead of a run going wrong.
"""

from __future__ import annotations

import inspect

from singer_sdk import Target
from singer_sdk.singerlib.encoding.base import GenericSingerReader
from target_clickhouse.reader import RawRecordReader
from target_clickhouse.sinks import ClickHouseSink
from target_clickhouse.target import TargetClickHouse

from tests.support.clickhouse import settings
from tests.support.sdk_assumptions import (
    assert_the_sdk_parses_records_in_validate_and_parse,
    private_overrides,
)

PRIVATE_OVERRIDES = {"_validate_and_parse"}


def test_the_sdk_validates_and_parses_each_record_through_validate_and_parse():
    assert_the_sdk_parses_records_in_validate_and_parse()


def test_the_only_private_sdk_members_overridden_are_the_pinned_ones():
    assert private_overrides(TargetClickHouse, ClickHouseSink, RawRecordReader) == PRIVATE_OVERRIDES


def test_the_public_members_the_target_builds_on_still_work_as_assumed():
    params = list(inspect.signature(GenericSingerReader.process_lines).parameters)
    assert params == ["self", "file_input", "callbacks"]
    # drain_all hands over every sink with rows; drain_one calls process_batch for those.
    drain_one = inspect.getsource(Target.drain_one)
    assert "if sink.current_size == 0:" in drain_one
    assert "sink.process_batch(" in drain_one
    assert "self._drain_all(self._sinks_active.values()" in inspect.getsource(Target.drain_all)
    # A new sink (a new SCHEMA) is set up before any record reaches it.
    assert "sink.setup()" in inspect.getsource(Target.add_sink)
    # The SDK writes STATE only from what its STATE callback kept: routed away, it writes none.
    assert "self._latest_state = state" in inspect.getsource(Target._process_state_message)
    assert "if self._latest_state:" in inspect.getsource(Target.drain_all)
    target = TargetClickHouse(config=settings("sdk_probe"))
    assert isinstance(target.message_reader, RawRecordReader)
    assert target.message_reader.raw_record_handler == target.writer.accept_raw
    assert target.message_reader.state_handler == target.receive_state


def test_a_state_never_reaches_the_sdk_so_only_the_writer_emits_it(database):
    import io

    from tests.support.clickhouse import record, schema_message

    target = TargetClickHouse(config=settings(database))
    lines = [
        schema_message("s", {"id": {"type": ["string"]}}, ["id"]),
        record("s", {"id": "1"}),
        {"type": "STATE", "value": {"n": 1}},
    ]
    import contextlib
    import json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(io.StringIO("".join(json.dumps(m) + "\n" for m in lines)))

    assert target._latest_state is None
    assert out.getvalue() == '{"n": 1}\n'
