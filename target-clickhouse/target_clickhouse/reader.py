"""Reading Singer messages: RECORD lines of fast streams stay raw JSON; the rest become dicts.

The SDK's reader turns every line into a dict, every field into a Python object. For a stream
loaded by ClickHouse itself (see :mod:`target_clickhouse.loadplan`) only the envelope is decoded:
``type`` and ``stream``, with ``record`` kept as :class:`msgspec.Raw` (a view of its JSON text).
The target decides per stream (``raw_record_handler``); every other line goes through the usual
SDK callbacks. This is the SDK's public ``message_reader_class`` hook; ``process_lines`` keeps the
base reader's contract (callbacks per message type, a counter of lines per type). The target's
other hooks into the message loop live here too, so the target overrides no private SDK member:
``schema_handler`` sees each SCHEMA message before the SDK does, ``state_handler`` receives each
STATE value instead of the SDK, ``flush_handler`` runs when ``flush_at`` (a
:func:`time.monotonic` instant) has passed, ``on_error`` when reading stops on an error.
"""

from __future__ import annotations

import math
import sys
import time
import typing as t
from collections import Counter, defaultdict
from decimal import Decimal

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import InvalidInputLine
from typing_extensions import override

# Numbers with a fraction are read as Decimal: money keeps every digit it was sent with.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)

INPUT_BUFFER = 1 << 20  # read standard input in large chunks
RawRecordHandler = t.Callable[[str, msgspec.Raw], bool]
Callback = t.Callable[[dict[str, t.Any]], None]


_NO_RECORD = msgspec.Raw(b"")


class _Envelope(msgspec.Struct):
    """The part of a message needed to route a RECORD; other fields are skipped unparsed."""

    type: str = ""
    stream: str | None = None
    record: msgspec.Raw = _NO_RECORD


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _invalid(line: str | bytes, exc: Exception) -> InvalidInputLine:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    return InvalidInputLine(f"invalid JSON on input ({exc}): {text.strip()[:80]!r}")


def _head(envelope: t.Callable[[t.Any], _Envelope], line: str | bytes) -> _Envelope | None:
    """The envelope of a line; None when it is odd (the full decode then reports it)."""
    try:
        return envelope(line)
    except msgspec.ValidationError:
        return None
    except msgspec.DecodeError as exc:
        raise _invalid(line, exc) from None
    except RecursionError:
        raise _invalid(line, ValueError("nested too deeply to read")) from None


class QuietMsgSpecReader(MsgSpecReader):
    """msgspec reader whose parse errors are one short line (no traceback, no full line dump)."""

    @override
    def deserialize_json(self, line: str | bytes) -> dict[str, t.Any]:
        """Parse one line or raise InvalidInputLine naming what is wrong."""
        try:
            message = _DECODER.decode(line)
        except msgspec.DecodeError as exc:
            raise _invalid(line, exc) from None
        except RecursionError:
            raise _invalid(line, ValueError("nested too deeply to read")) from None
        if not isinstance(message, dict):
            raise _invalid(line, ValueError("not a JSON object"))
        return message


class RawRecordReader(QuietMsgSpecReader):
    """Hands RECORD messages to ``raw_record_handler`` as raw JSON; blank lines are ignored."""

    raw_record_handler: RawRecordHandler | None = None
    #: Called with each SCHEMA message before the SDK's own SCHEMA callback.
    schema_handler: Callback | None = None
    #: Called with each STATE value instead of the SDK's STATE callback.
    state_handler: Callback | None = None
    #: Called once ``flush_at`` has passed; returns the next ``flush_at``.
    flush_handler: t.Callable[[], float] | None = None
    flush_at: float = math.inf
    #: Called when reading stops on an error, before it propagates (inserts in flight finish).
    on_error: t.Callable[[BaseException], None] | None = None

    @override
    def process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, Callback],
    ) -> t.Counter[str]:
        """Read every line; RECORDs the handler accepts never become dicts."""
        try:
            return self._process_lines(file_input, callbacks)
        except BaseException as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise

    def _process_lines(
        self,
        file_input: t.IO[t.Any] | None,
        callbacks: dict[str, Callback],
    ) -> t.Counter[str]:
        if file_input is None:  # standard input, read in large chunks
            with open(sys.stdin.fileno(), "rb", buffering=INPUT_BUFFER, closefd=False) as stdin:
                return self._read(stdin, callbacks)
        return self._read(file_input, callbacks)

    def _read(self, lines: t.IO[t.Any], callbacks: dict[str, Callback]) -> t.Counter[str]:
        stats: dict[str, int] = defaultdict(int)
        handler = self.raw_record_handler
        envelope = _ENVELOPE.decode
        monotonic = time.monotonic
        for line in lines:
            if monotonic() >= self.flush_at and self.flush_handler is not None:
                self.flush_at = self.flush_handler()
            if not line or line.isspace():
                continue
            self._current_message = line
            if isinstance(line, bytes) and not line.isascii():
                try:  # raw records are not parsed here, so check the encoding of the line
                    line.decode()
                except UnicodeDecodeError as exc:
                    raise _invalid(line, ValueError(f"not UTF-8: {exc.reason}")) from None
            if handler is not None:
                head = _head(envelope, line)
                if (
                    head is not None
                    and head.type == "RECORD"
                    and head.stream is not None
                    and len(head.record)
                    and handler(head.stream, head.record)
                ):
                    stats["RECORD"] += 1
                    continue
            stats[self._dispatch(line, callbacks)] += 1
        return Counter(**stats)

    def _dispatch(self, line: str | bytes, callbacks: dict[str, Callback]) -> str:
        """Decode one message and hand it to its SDK callback; return its type."""
        message = self.deserialize_json(line)
        self.assert_line_requires(message, requires={"type"})
        kind: str = message["type"]
        if kind == "SCHEMA" and self.schema_handler is not None:
            self.schema_handler(message)
        if kind == "STATE" and self.state_handler is not None:
            self.assert_line_requires(message, requires={"value"})
            self.state_handler(message["value"])
        elif callback := callbacks.get(kind):
            callback(message)
        else:
            self._process_unknown_message(message)
        return kind
