r"""JSON bodies and CSV cells that hold half a character, made valid text.

Zoho cuts values: lists and exports cut rich text at 500 characters (``shared/zoho-api.md`` 3.2).
Counted in UTF-16 units (unconfirmed; 3.3 measures a value that may be cut so), a cut can fall
between the two halves of a surrogate pair (an emoji or any character outside the Basic
Multilingual Plane). The JSON body then holds a lone surrogate escape (``"...\ud83d"``), which
msgspec rightly refuses and which no UTF-8 target can store; a CSV export holds a broken UTF-8
sequence instead.

So a body is decoded by msgspec (fast, strict) and, only when msgspec refuses a body that may hold
such a half (a surrogate escape, or bytes that are not UTF-8), again by the standard library,
which accepts lone surrogates; every lone surrogate left in a string is then replaced by U+FFFD
(one unit for one unit: the UTF-16 length that tells whether a value may have been cut is
unchanged). Each replacement is reported as a :class:`Repair` naming the record and the field,
for the caller's one warning. Any other malformed body is refused as before.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec

LOGGER = logging.getLogger("tap-zoho")
REPLACEMENT = "\ufffd"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Repair:
    """One value that held half a character: the record's id ("" if none) and the field."""

    record: str
    field: str


RepairNote = Callable[[Sequence[Repair], str], None]  # who hears of repairs, and where they were


def log_repairs(repairs: Sequence[Repair], where: str) -> None:
    """Say what was repaired, for a caller without a client of its own."""
    LOGGER.warning("%s: %s", where, repairs_message(repairs))


def repairs_message(repairs: Sequence[Repair]) -> str:
    """What was repaired, naming the first record and field (and how many more)."""
    first = repairs[0]
    more = f"; {len(repairs) - 1} more value(s) in this answer" if len(repairs) > 1 else ""
    return (
        f"record {first.record or '?'}, field {first.field or '?'}: Zoho cut the value inside a "
        "character (half a UTF-16 surrogate pair, or a broken UTF-8 sequence); that half is now "
        f"U+FFFD, so the record stays valid UTF-8 for every target{more}"
    )


def repair_text(value: str) -> str:
    """``value`` with each lone surrogate (half a pair, or an undecodable byte) as U+FFFD."""
    return LONE_SURROGATE.sub(REPLACEMENT, value)


def decode_json(content: bytes) -> tuple[t.Any, list[Repair]]:
    """The JSON value of ``content`` and the values repaired in it (usually none).

    Raises ``msgspec.DecodeError`` for a body that is not JSON for another reason.
    """
    try:
        return msgspec.json.decode(content), []
    except msgspec.DecodeError:
        if not _may_hold_halves(content):
            raise
    try:  # surrogateescape: a byte that is not UTF-8 becomes a lone surrogate, repaired below
        value = json.loads(content.decode("utf-8", "surrogateescape"), parse_constant=_no_constant)
    except ValueError as exc:
        msg = f"JSON is malformed: {exc}"
        raise msgspec.DecodeError(msg) from None
    repairs: list[Repair] = []
    return _repaired(value, None, "", repairs), repairs


def _may_hold_halves(content: bytes) -> bool:
    if SURROGATE_ESCAPE.search(content):
        return True
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _no_constant(name: str) -> t.NoReturn:
    msg = f"{name} is not JSON"  # the standard library accepts NaN and Infinity; msgspec does not
    raise ValueError(msg)


def _repaired(value: t.Any, record: str | None, field: str, repairs: list[Repair]) -> t.Any:
    """``value`` with its strings repaired; a list's element with an ``id`` is a record.

    Inside a record, ``field`` is the path from it (``Quoted_Items.Description``); the rows of a
    subform keep their parent record's id.
    """
    if isinstance(value, str):
        if LONE_SURROGATE.search(value) is None:
            return value
        repairs.append(Repair(record or "", field))
        return repair_text(value)
    if isinstance(value, list):
        return [
            _repaired(item, str(item["id"]), "", repairs)
            if record is None and isinstance(item, dict) and item.get("id") is not None
            else _repaired(item, record, field, repairs)
            for item in value
        ]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = repair_text(key)
            out[name] = _repaired(item, record, f"{field}.{name}" if field else name, repairs)
        return out
    return value
