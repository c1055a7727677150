"""Singer output: msgspec serialisation, flushed at every message that is not a RECORD.

Flushing after each record costs a system call per record; records only need to be on the wire
before the STATE that covers them, so the stream is flushed at SCHEMA, STATE and other control
messages (and by the OS buffer in between).
"""

from __future__ import annotations

import sys

from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override


class BufferedRecordWriter(MsgSpecWriter):
    """msgspec writer that lets RECORD lines accumulate in the stdout buffer."""

    @override
    def write_message(self, message: Message) -> None:
        """Write one message; flush unless it is a record."""
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()
