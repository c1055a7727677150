"""Records leave the tap through the SDK's own message path (no private override there).

The tap overrides one private SDK member, ``Stream._increment_stream_state`` (bookmarks.py,
checked by ``test_sdk_assumptions.py``); RECORD messages, with the SDK's pruning of deselected
properties, are the SDK's. Books/Inventory answer every field whatever was selected, so the
pruning is what keeps a deselected property out of their records.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from importlib.metadata import version
from types import ModuleType

import tap_zoho
from packaging.version import Version
from singer_sdk import Tap
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.streams import Stream
from tap_zoho.tap import TapZoho

from tests.conftest import OFFLINE_BOOKS
from tests.sdk_assumptions import private_overrides


def test_the_installed_singer_sdk_is_in_the_tested_range():
    assert Version("0.54.2") <= Version(version("singer-sdk")) < Version("0.55")


def test_the_only_private_sdk_member_the_tap_overrides_is_increment_stream_state():
    sdk_classes = [
        cls
        for module in _tap_modules()
        for cls in vars(module).values()
        if inspect.isclass(cls)
        and cls.__module__ == module.__name__
        and issubclass(cls, (Stream, Tap, BaseAPIPaginator))
    ]

    assert len(sdk_classes) > 10  # every stream family, the tap, the paginator
    assert private_overrides(*sdk_classes) == {"_increment_stream_state"}


def _tap_modules() -> list[ModuleType]:
    return [
        importlib.import_module(f"tap_zoho.{info.name}")
        for info in pkgutil.iter_modules(tap_zoho.__path__)
    ]


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
