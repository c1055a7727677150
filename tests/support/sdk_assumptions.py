"""Checks shared by the targets' ``test_sdk_assumptions.py``: which private SDK members they use."""

from __future__ import annotations

import inspect

from singer_sdk import Target
from singer_sdk.sinks import Sink


def private_overrides(*classes: type) -> set[str]:
    """Names of private members the classes define that one of their bases defines too."""
    return {
        name
        for cls in classes
        for name in vars(cls)
        if name.startswith("_")
        and not name.startswith("__")
        and name != "_abc_impl"  # set by abc on every subclass
        and any(name in vars(base) for base in cls.__mro__[1:])
    }


def assert_the_sdk_parses_records_in_validate_and_parse() -> None:
    """The SDK still calls ``Sink._validate_and_parse`` per record, and still parses in it."""
    assert "sink._validate_and_parse(" in inspect.getsource(Target._process_record_message)
    parse = inspect.getsource(Sink._validate_and_parse)
    assert "self._validator.validate(record)" in parse
    assert "_parse_timestamps_in_record(" in parse  # what the override exists to skip
    assert list(inspect.signature(Sink._validate_and_parse).parameters) == ["self", "record"]
