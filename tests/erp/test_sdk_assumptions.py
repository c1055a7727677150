"""The private singer-sdk members target-tsh-postgres relies on still work the way it assumes.

The SDK has no public hook for these (see the docstrings in ``target.py`` and ``sinks.py``); the
SDK range is pinned in ``target-tsh-postgres/pyproject.toml``. When a new SDK release changes
one of them, these tests fail before a user's STATE goes out ahead of its rows.
"""

from __future__ import annotations

import inspect

from singer_sdk import Target
from singer_sdk.sinks import Sink
from target_tsh_postgres.sinks import ErpSink
from target_tsh_postgres.target import TargetTshPostgres


def test_the_sdk_drains_every_sink_when_max_record_age_is_exceeded():
    check = inspect.getsource(Target._handle_max_record_age)
    assert "self._MAX_RECORD_AGE_IN_MINUTES" in check
    assert "self.drain_all()" in check
    assert "self._handle_max_record_age()" in inspect.getsource(Target._process_record_message)


def test_the_sdk_writes_state_only_through_write_state_message_after_draining():
    drain = inspect.getsource(Target.drain_all)
    assert drain.index("self._drain_all(") < drain.index("self._write_state_message(")
    sources = inspect.getsource(inspect.getmodule(Target))
    assert sources.count("sys.stdout.write") == 1  # in _write_state_message, nowhere else


def test_the_sdk_validates_and_parses_each_record_through_validate_and_parse():
    assert "_validate_and_parse(" in inspect.getsource(Target._process_record_message)
    assert "_validate_and_parse" in vars(ErpSink)
    assert callable(Sink._validate_and_parse)


def test_our_overrides_replace_the_members_the_sdk_calls():
    assert isinstance(vars(TargetTshPostgres)["_MAX_RECORD_AGE_IN_MINUTES"], property)
    assert "_write_state_message" in vars(TargetTshPostgres)
