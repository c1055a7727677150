"""One line for a batch ClickHouse refused: the stream, the column and the value.

ClickHouse names the failed check (:func:`.loadplan.failed_column`), so the column; the record is
found by running that same check over the batch again (:meth:`.connection.Connection.misfit`),
never by a second implementation of it in Python. Input-format errors name the row and the key.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import msgspec
from singer_sdk.exceptions import MissingKeyPropertiesError

from . import loadplan
from .errors import BadRecordError, cannot_store

if t.TYPE_CHECKING:
    from .connection import Connection
    from .loadplan import LoadPlan

_RECORD = msgspec.json.Decoder()


def _record_at(path: str, line: int) -> t.Any:
    """The record on 0-based ``line`` of a batch file (None past its end or if unreadable)."""
    with Path(path).open("rb") as batch:
        for index, text in enumerate(batch):
            if index == line:
                try:
                    return _RECORD.decode(text)
                except msgspec.DecodeError:
                    return None
    return None


def _misfit(
    prefix: str, plan: LoadPlan, path: str, index: int, connection: Connection
) -> Exception | None:
    """The error naming the first value of the batch that fails column ``index``'s check."""
    column = plan.columns[index]
    try:
        found = connection.misfit(plan, path, index)
    except Exception:  # noqa: BLE001 - the refusal itself is what is reported
        found = None
    if found is None:
        return None
    line, text = found
    record = _record_at(path, line)
    if record is None:  # too deep for the decoder: show the value's JSON text
        return BadRecordError(prefix + cannot_store(column.name, column.ch_type, text))
    if column.key and isinstance(record, dict) and column.prop not in record:
        return MissingKeyPropertiesError(
            f"{prefix}a record is missing key property {column.name!r}"
        )
    value = record.get(column.prop) if isinstance(record, dict) else record
    return BadRecordError(prefix + cannot_store(column.name, column.ch_type, value))


def refusal(
    stream: str, plan: LoadPlan, path: str, message: str, connection: Connection
) -> Exception:
    """The error to end the run with for a batch ClickHouse refused with ``message``."""
    prefix = f"stream {stream!r}: "
    index = loadplan.failed_column(message)
    if index is not None:
        return _misfit(prefix, plan, path, index, connection) or BadRecordError(
            f"{prefix}column {plan.columns[index].name!r} ({plan.columns[index].ch_type}): "
            "a value does not fit"
        )
    row, key = loadplan.failed_row(message)
    if row is not None and key is not None:
        record = _record_at(path, row)
        value = record.get(key) if isinstance(record, dict) else record
        types = {c.prop: c.ch_type for c in plan.columns}
        return BadRecordError(prefix + cannot_store(key, types.get(key, "?"), value))
    if row is not None:
        return BadRecordError(f"{prefix}record {row + 1} of the batch is not a JSON object")
    # The message names no check (it may be cut, even mid-character): run each check again.
    for index in plan.checked_columns():
        found = _misfit(prefix, plan, path, index, connection)
        if found is not None:
            return found
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    return BadRecordError(f"{prefix}ClickHouse refused the batch: {first[:300]}")
