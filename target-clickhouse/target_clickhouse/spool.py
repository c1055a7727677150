"""A batch file of record JSON lines: a stream's buffer on disk, bounded by rows and bytes.

Both load paths fill one: the raw path with each record's JSON text as the tap sent it, the dict
path with each record the SDK validated or mapped, encoded back to JSON. ClickHouse reads the
file as ``JSONEachRow`` (:mod:`.loadplan`), so memory stays flat however large a batch grows.

Every line is compact JSON: ClickHouse keeps an object or array property as the text it reads,
so that text is the stored value. Compacting only drops the whitespace between tokens; every
number and string stays exactly as the tap sent it (a parse and re-serialisation would round
long fractions and change ``1.50`` to ``1.5``). It runs here, on the thread reading input,
while the engine inserts the previous batch.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import typing as t
from pathlib import Path

import msgspec

SPOOL_BUFFER = 1 << 20  # large writes: one system call per ~600 records, not per 5

# Decimal as a JSON number: the exact digits the tap sent (the reader decodes floats as Decimal).
_ENCODE = msgspec.json.Encoder(decimal_format="number", enc_hook=str).encode

# A string token (kept as it is) or a run of whitespace between tokens (dropped).
_TOKEN_OR_SPACE = re.compile(rb'("(?:[^"\\]|\\.)*")|[ \t\n\r]+', re.DOTALL)


def compact(text: bytes | memoryview | msgspec.Raw) -> bytes:
    """JSON text without whitespace between tokens; numbers and strings exactly as written."""
    try:
        return msgspec.json.format(text, indent=-1)
    except (msgspec.DecodeError, RecursionError):
        # Text the envelope decoder accepted but msgspec will not re-read: its nesting and
        # escape limits are its own, not a promise of the Singer format. Drop the whitespace
        # outside strings token by token instead.
        return _TOKEN_OR_SPACE.sub(lambda found: found.group(1) or b"", bytes(text))


class Spool:
    """The batch being filled for one table; :meth:`take` hands the full file over."""

    def __init__(self, max_rows: int, max_bytes: int) -> None:
        """Nothing is written to disk before the first record."""
        self.max_rows = max(1, max_rows)
        self.max_bytes = max(1, max_bytes)
        self._file: t.BinaryIO | None = None
        self._path = ""
        self.rows = 0
        self.bytes = 0

    @property
    def full(self) -> bool:
        """Whether the batch reached its row or byte bound."""
        return self.rows >= self.max_rows or self.bytes >= self.max_bytes

    def add(self, record: bytes | memoryview | msgspec.Raw) -> bool:
        """Append one record's JSON text as sent, compacted; True when the batch is full."""
        return self._write(compact(record))

    def add_record(self, record: dict[str, t.Any]) -> bool:
        """Append a record given as a dict, encoded as JSON; True when the batch is full."""
        return self._write(_ENCODE(record))

    def _write(self, record: bytes) -> bool:
        spool = self._file
        if spool is None:
            fd, self._path = tempfile.mkstemp(prefix="target-clickhouse-", suffix=".jsonl")
            spool = self._file = os.fdopen(fd, "wb", buffering=SPOOL_BUFFER)
        spool.write(record)
        spool.write(b"\n")
        self.rows += 1
        self.bytes += len(record) + 1
        return self.rows >= self.max_rows or self.bytes >= self.max_bytes

    def take(self) -> tuple[str, int] | None:
        """Close the batch file and return (path, rows), or None if it is empty; start anew.

        The caller owns the file from now on (and removes it once inserted).
        """
        spool, self._file = self._file, None
        rows, self.rows, self.bytes = self.rows, 0, 0
        if spool is None:
            return None
        spool.close()
        return self._path, rows

    def discard(self) -> None:
        """Remove the batch file of records that will not be inserted (the run is failing)."""
        taken = self.take()
        if taken is not None:
            remove(taken[0])


def remove(path: str) -> None:
    """Remove a batch file, if it is still there."""
    with contextlib.suppress(OSError):
        Path(path).unlink()
