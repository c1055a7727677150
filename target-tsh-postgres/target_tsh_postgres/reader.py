r"""Reading Singer messages: msgspec for speed, any valid JSON read, the target's hooks in the loop.

Every line is parsed once, by msgspec. A line msgspec refuses is tried once more by Python's
``json`` before it counts as invalid, because msgspec refuses some valid JSON a tap may send: a
lone surrogate escape (``"\ud83d"``, half an emoji) and numbers beyond a float (``1e400``,
read as ``Decimal`` there). What such values become in the ERP is :mod:`.storable`'s and
PostgreSQL's to decide, per row. A RECORD nested deeper than Python's recursion allows is split
by hand: each property is decoded on its own, and one too deep is kept as
:class:`.storable.TooDeep`, which refuses that record alone.

The target's hooks into the SDK's message loop are set on the reader (see :mod:`.target`).
"""

from __future__ import annotations

import json
import re
import typing as t
from decimal import Decimal

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.singerlib import SingerMessageType
from typing_extensions import override

from .storable import TooDeep

# Floats stay floats: prices and stock have far fewer than 15 significant digits, and str() of a
# float is its shortest round-trip form, so NUMERIC receives exactly the digits Zoho sent.
_DECODER = msgspec.json.Decoder()

Callback = t.Callable[[dict[str, t.Any]], None]


def _non_blank(lines: t.Iterable[str]) -> t.Iterator[str]:
    """Blank lines carry no message (a shell pipe or an editor may add them): skip them."""
    return (line for line in lines if line.strip())


class ErpReader(MsgSpecReader):
    """msgspec reader; a line that is not JSON (or not text) becomes one short error.

    The target's hooks: ``state_handler`` receives each STATE value in place of the SDK,
    ``after_record`` runs after each RECORD, ``before_activate_version`` before the SDK handles
    an ACTIVATE_VERSION, ``on_error`` when reading stops on an error.
    """

    state_handler: t.Callable[[dict[str, t.Any]], None] | None = None
    after_record: t.Callable[[], None] | None = None
    before_activate_version: t.Callable[[], None] | None = None
    on_error: t.Callable[[BaseException], None] | None = None

    @override
    def process_lines(
        self, file_input: t.IO[str] | None, callbacks: dict[str, Callback]
    ) -> t.Counter[str]:
        """The SDK's loop over the input, without its blank lines, with the target's hooks."""
        lines = _non_blank(file_input or self.default_input)
        routed = dict(callbacks)
        if self.state_handler is not None:
            routed[SingerMessageType.STATE] = self._state
        after = self.after_record
        if after is not None:
            process_record = callbacks[SingerMessageType.RECORD]

            def record_then_check(message: dict[str, t.Any]) -> None:
                process_record(message)
                after()

            routed[SingerMessageType.RECORD] = record_then_check
        before = self.before_activate_version
        if before is not None and SingerMessageType.ACTIVATE_VERSION in callbacks:
            activate = callbacks[SingerMessageType.ACTIVATE_VERSION]

            def drain_then_activate(message: dict[str, t.Any]) -> None:
                before()
                activate(message)

            routed[SingerMessageType.ACTIVATE_VERSION] = drain_then_activate
        try:
            return super().process_lines(lines, routed)  # type: ignore[arg-type]
        except BaseException as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def _state(self, message: dict[str, t.Any]) -> None:
        self.assert_line_requires(message, requires={"value"})
        assert self.state_handler is not None  # noqa: S101 - only routed when set
        self.state_handler(message["value"])

    @override
    def deserialize_json(self, line: str) -> dict[str, t.Any]:
        """Parse one line or raise InvalidInputLine naming what is wrong."""
        try:
            return t.cast("dict[str, t.Any]", _DECODER.decode(line))  # as the SDK reader assumes
        except msgspec.DecodeError as exc:
            return _decode_leniently(line, exc)
        except RecursionError:
            return _decode_deep(line)
        except UnicodeError:  # bytes that are not UTF-8 arrive as surrogates
            shown = line.strip()[:40].encode("utf-8", "backslashreplace").decode()
            msg = f"input is not UTF-8 text (binary data?): {shown!r}"
            raise InvalidInputLine(msg) from None


def _no_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> int | Decimal:
    """An integer; beyond Python's digit limit for ``int()``, a Decimal (PostgreSQL decides)."""
    return int(text) if len(text) < 4_000 else Decimal(text)  # noqa: PLR2004


def _lenient(text: str) -> t.Any:
    """Python's JSON reading: lone surrogates kept, every number exact, no NaN or Infinity."""
    return json.loads(text, parse_float=Decimal, parse_int=_number, parse_constant=_no_constant)


def _decode_leniently(line: str, refusal: msgspec.DecodeError) -> dict[str, t.Any]:
    """A line msgspec refused, read by Python's ``json``; invalid JSON stays one short error."""
    try:
        message = _lenient(line)
    except RecursionError:
        return _decode_deep(line)
    except ValueError:
        msg = f"invalid JSON on input ({refusal}): {line.strip()[:80]!r}"
        raise InvalidInputLine(msg) from None
    return t.cast("dict[str, t.Any]", message)  # as the SDK reader assumes


def _decode_value(text: str) -> t.Any:
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return _lenient(text)


def _decode_deep(line: str) -> dict[str, t.Any]:
    """A message too deep to decode whole: its fields one by one, a RECORD's properties too.

    A property still too deep becomes :class:`.storable.TooDeep` (its record is refused); any
    other field too deep, or JSON that is not valid, is one short error.
    """
    try:
        message: dict[str, t.Any] = {}
        for key, start, end in _members(line, 0):
            if key == "record":
                message[key] = {name: _property(line[s:e]) for name, s, e in _members(line, start)}
            else:
                message[key] = _decode_value(line[start:end])
    except RecursionError:
        msg = f"a message nested deeper than the target can read: {line.strip()[:80]!r}"
        raise InvalidInputLine(msg) from None
    except (ValueError, IndexError, AttributeError):
        msg = f"invalid JSON on input: {line.strip()[:80]!r}"
        raise InvalidInputLine(msg) from None
    return message


def _property(text: str) -> t.Any:
    try:
        return _decode_value(text)
    except RecursionError:
        return TooDeep(text[:80])


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SCALAR = re.compile(r"[^,\]}\s]+")
_INSIDE = re.compile(r'[^"\[\]{}]+')  # anything but strings and brackets, inside a container


def _skip(text: str, at: int) -> int:
    return t.cast("re.Match[str]", _WHITESPACE.match(text, at)).end()


def _members(text: str, at: int) -> t.Iterator[tuple[str, int, int]]:
    """Key, start and end of each member of the JSON object at ``at``, without recursion."""
    at = _skip(text, at)
    if text[at] != "{":
        raise ValueError("not an object")
    at = _skip(text, at + 1)
    if text[at] == "}":
        return
    while True:
        key = t.cast("re.Match[str]", _STRING.match(text, at))
        at = _skip(text, key.end())
        if text[at] != ":":
            raise ValueError("no colon")
        start = _skip(text, at + 1)
        end = _value_end(text, start)
        yield json.loads(key.group()), start, end
        at = _skip(text, end)
        if text[at] == "}":
            return
        if text[at] != ",":
            raise ValueError("no comma")
        at = _skip(text, at + 1)


def _value_end(text: str, at: int) -> int:
    """Where the JSON value starting at ``at`` ends, counting brackets instead of recursing."""
    if text[at] == '"':
        return t.cast("re.Match[str]", _STRING.match(text, at)).end()
    if text[at] not in "[{":
        return t.cast("re.Match[str]", _SCALAR.match(text, at)).end()
    depth = 0
    while True:
        char = text[at]
        if char == '"':
            at = t.cast("re.Match[str]", _STRING.match(text, at)).end()
        elif char in "[{":
            depth += 1
            at += 1
        elif char in "]}":
            depth -= 1
            at += 1
            if depth == 0:
                return at
        else:
            at = t.cast("re.Match[str]", _INSIDE.match(text, at)).end()
