"""The private singer-sdk member tap-zoho's bookmarks override still works the way they assume.

``tap_zoho/sdk/bookmarks.py`` overrides ``Stream._increment_stream_state`` once, in
``OwnBookmarks`` (no public hook says "this record was written: advance the bookmark"), pinned to
singer-sdk 0.54.x: the keyset streams move their bookmark per record through it, the users stream
(``tap_zoho/crm/reference/users.py``) only after a whole listing. These tests fail before
a new SDK release could move a bookmark ahead of its records or stop calling the override.
"""

from __future__ import annotations

import inspect

import pytest
from singer_sdk.streams import Stream
from tap_zoho.crm.reference.users import UsersStream
from tap_zoho.sdk.bookmarks import KeysetBookmarks, OwnBookmarks


def test_increment_stream_state_keeps_its_signature():
    parameters = inspect.signature(Stream._increment_stream_state).parameters
    assert list(parameters) == ["self", "latest_record", "context"]
    assert parameters["context"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["context"].default is None


def test_the_sdk_advances_the_bookmark_right_after_writing_each_record():
    sync = inspect.getsource(Stream._sync_records)
    written = sync.index("self._write_record_message(record)")
    counted = sync.index("self._increment_stream_state(record, context=current_context)")
    checkpoint = sync.index("self._write_state_message()", counted)
    assert written < counted < checkpoint
    assert "self.state_manager.increment_state(" in inspect.getsource(
        Stream._increment_stream_state
    )


def test_our_override_replaces_the_member_the_sdk_calls():
    override = vars(OwnBookmarks)["_increment_stream_state"]
    assert getattr(override, "__override__", False)
    assert inspect.signature(override).parameters.keys() == (
        inspect.signature(Stream._increment_stream_state).parameters.keys()
    )


@pytest.mark.parametrize("stream", [KeysetBookmarks, UsersStream])
def test_every_stream_moving_its_own_bookmark_uses_the_one_override(stream):
    assert stream._increment_stream_state is OwnBookmarks._increment_stream_state
