"""Reading Singer messages: msgspec for speed, the target's hooks in the SDK's message loop.

Every line is parsed once, by msgspec. The target's hooks into the SDK's message loop are set on
the reader (see :mod:`.target`).
"""

from __future__ import annotations

import typing as t

import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.singerlib import SingerMessageType
from typing_extensions import override

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
            msg = f"invalid JSON on input ({exc}): {line.strip()[:80]!r}"
            raise InvalidInputLine(msg) from None
        except UnicodeError:  # bytes that are not UTF-8 arrive as surrogates
            shown = line.strip()[:40].encode("utf-8", "backslashreplace").decode()
            msg = f"input is not UTF-8 text (binary data?): {shown!r}"
            raise InvalidInputLine(msg) from None
