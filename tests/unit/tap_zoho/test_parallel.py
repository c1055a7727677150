"""The SDK members that reading modules side by side relies on (tap_zoho.sdk.parallel)."""

from __future__ import annotations

import inspect

from singer_sdk import Tap
from singer_sdk.streams import Stream


def test_the_sdk_members_parallel_reading_relies_on_are_unchanged():
    """Fails loudly when singer-sdk changes what tap_zoho/sdk/parallel.py builds on."""
    assert "self._tap.state_writer.write_state(self.tap_state)" in inspect.getsource(
        Stream._write_state_message
    )
    assert "self._tap.write_message(" in inspect.getsource(Stream._write_record_message)
    assert "self._tap.write_message(" in inspect.getsource(Stream._write_schema_message)
    sync_all = inspect.getsource(Tap.sync_all)
    assert "stream.sync()" in sync_all
    assert "stream.finalize_state_progress_markers()" in sync_all
    assert "write_state(self.state)" in inspect.getsource(Tap._handle_termination)
    assert isinstance(Tap.state, property)
    assert isinstance(Tap.state_writer, property)
