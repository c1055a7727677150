"""The record fast path, one of the two private SDK members tap-zoho overrides.

The other is ``Stream._increment_stream_state`` (``tap_zoho/sdk/bookmarks.py``, ``test_sdk_assumptions.py``);
the last test here fails when any other private SDK member gets overridden.

``ZohoStream._generate_record_messages`` (``tap_zoho/sdk/stream.py``) skips the SDK's per-record
pruning of deselected properties when nothing needs pruning (a fifth of the tap's CPU on a
120-field module, and no public hook skips it). These tests fail loudly when a singer-sdk release changes that member,
who calls it, or what it does, so the pin (``singer-sdk<0.55``) can be lifted knowingly.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing as t
from importlib.metadata import version

import pytest
from packaging.version import Version
from singer_sdk.streams import Stream
from tap_zoho.sdk.stream import ZohoStream
from tap_zoho.tap import TapZoho

from tests.support.tap import OFFLINE_BOOKS


def test_the_installed_singer_sdk_is_in_the_tested_range():
    assert Version("0.54.2") <= Version(version("singer-sdk")) < Version("0.55")


def test_the_sdk_still_writes_each_record_through_the_overridden_member():
    writer = inspect.getsource(Stream._write_record_message)
    assert "self._generate_record_messages(record)" in writer
    assert "self._tap.write_message(record_message)" in writer
    sync = inspect.getsource(Stream._sync_records)
    assert "self._write_record_message(record)" in sync


def test_the_sdk_member_does_only_what_the_fast_path_leaves_out_or_repeats():
    """Pruning and (level NONE: no-op) conformance, then one RECORD per stream map."""
    source = inspect.getsource(Stream._generate_record_messages)
    assert list(inspect.signature(Stream._generate_record_messages).parameters) == [
        "self",
        "record",
    ]
    assert "pop_deselected_record_properties(record, self.schema, self.mask)" in source
    assert "conform_record_data_types(" in source
    assert "for stream_map in self.stream_maps:" in source
    assert "stream_map.transform(record)" in source
    assert "version=self._stream_version" in source
    assert source.count("yield ") == 1


def _messages(stream: Stream, record: dict[str, t.Any], member: t.Any) -> list[dict[str, t.Any]]:
    return [
        {key: value for key, value in message.to_dict().items() if key != "time_extracted"}
        for message in member(stream, dict(record))
    ]


@pytest.mark.parametrize("stream_name", ["books_items", "books_contacts"])
def test_the_fast_path_emits_what_the_sdk_would_when_nothing_is_deselected(stream_name):
    tap = TapZoho(config=OFFLINE_BOOKS)
    stream = tap.streams[stream_name]
    key = stream.primary_keys[0]
    record = {key: "7", "organization_id": "123", "name": "Chair", "custom_fields": [{"a": 1}]}

    ours = _messages(stream, record, ZohoStream._generate_record_messages)
    sdks = _messages(stream, record, Stream._generate_record_messages)

    assert ours == sdks
    assert ours[0]["record"] == record
    assert ours[0]["stream"] == stream_name


def test_a_deselected_property_is_still_pruned():
    catalog = TapZoho(config=OFFLINE_BOOKS).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == ["properties", "name"]:
                meta["metadata"]["selected"] = False
    tap = TapZoho(config=OFFLINE_BOOKS, catalog=catalog)
    stream = tap.streams["books_items"]

    (message,) = list(stream._generate_record_messages({"item_id": "7", "name": "Chair"}))

    assert message.record == {"item_id": "7"}


def test_the_tap_overrides_no_other_private_sdk_member():
    import tap_zoho
    from singer_sdk import Tap
    from singer_sdk.pagination import BaseAPIPaginator

    from tests.support.sdk_assumptions import private_overrides

    modules = [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(tap_zoho.__path__, "tap_zoho.")
    ]
    sdk_classes = [
        cls
        for module in modules
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and cls.__module__ == module.__name__
        and issubclass(cls, (Stream, Tap, BaseAPIPaginator))
    ]

    assert len(sdk_classes) > 10  # every stream family, the tap, the paginator
    assert private_overrides(*sdk_classes) == {
        "_increment_stream_state",
        "_generate_record_messages",
    }
