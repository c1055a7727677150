"""What target-clickhouse assumes of singer-sdk still holds (the SDK range is pinned).

The target overrides one private SDK member, ``Sink._validate_and_parse`` (no public hook skips
the SDK's date-time parsing on the dict path). The raw path and the flush interval build on the
public reader hook (``message_reader_class``, ``process_lines(file_input, callbacks)``), the
sinks' ``current_size`` (the SDK drains a sink only when it is not 0) and ``get_sink``. When a
new SDK release changes one of these, a test here fails instead of a run going wrong quietly.
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


def test_the_public_members_the_raw_path_builds_on_still_work_as_assumed():
    params = list(inspect.signature(GenericSingerReader.process_lines).parameters)
    assert params == ["self", "file_input", "callbacks"]
    # A sink with an insert in flight reports rows, so drain_one waits for it before STATE.
    drain_one = inspect.getsource(Target.drain_one)
    assert "if sink.current_size == 0:" in drain_one
    drain_all = inspect.getsource(Target.drain_all)
    assert drain_all.rindex("self._drain_all(") < drain_all.index("self._write_state_message(")
    # A changed schema reaches get_sink, which drains the sink it replaces first.
    assert "self.get_sink(" in inspect.getsource(Target._process_schema_message)
    target = TargetClickHouse(config=settings("sdk_probe"))
    assert isinstance(target.message_reader, RawRecordReader)
    assert target.message_reader.raw_record_handler == target.accept_raw_record
