"""Every error target-clickhouse ends a run with on purpose, and which failures are worth a retry.

Each error below becomes one line on standard error and exit code 1 (:func:`.target.main`).
Errors of the ClickHouse driver itself (``clickhouse_connect.driver.exceptions.Error``) end a run
the same way; :func:`transient` decides, by exception type and ClickHouse error code (never by
class name or message), which of them a later attempt of the same insert can get past.
"""

from __future__ import annotations

import typing as t

from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

__all__ = [
    "TRANSIENT_CODES",
    "BadRecordError",
    "ClickHouseUnavailableError",
    "SchemaChangeError",
    "TargetClickHouseError",
    "cannot_store",
    "transient",
]


class TargetClickHouseError(Exception):
    """Base of every error this target raises on purpose."""


class BadRecordError(TargetClickHouseError, ValueError):
    """A record that cannot be stored: the message names stream, column and value."""


class ClickHouseUnavailableError(TargetClickHouseError, RuntimeError):
    """The server (or the embedded data path) cannot be opened; the message says where."""


class SchemaChangeError(TargetClickHouseError, ValueError):
    """A table change that cannot be made, e.g. a key column changing type."""


VALUE_SHOWN = 120  # characters of a refused value's repr shown in a message


def cannot_store(column: str, ch_type: str, value: t.Any) -> str:
    """``column 'c' (T): cannot store value V``, the value cut to :data:`VALUE_SHOWN` characters."""
    shown = repr(value)
    if len(shown) > VALUE_SHOWN:
        shown = shown[: VALUE_SHOWN - 3] + "..."
    return f"column {column!r} ({ch_type}): cannot store value {shown}"


#: ClickHouse error codes a later attempt of the same insert can get past.
TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        160,  # TOO_SLOW
        164,  # READONLY (a replica restarting)
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        279,  # ALL_CONNECTION_TRIES_FAILED
        285,  # TOO_FEW_LIVE_REPLICAS
        319,  # UNKNOWN_STATUS_OF_INSERT
        373,  # SESSION_IS_LOCKED
        394,  # QUERY_WAS_CANCELLED
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)


def transient(exc: BaseException) -> bool:
    """True for failures a later attempt of the same insert can get past (network, overload).

    A server error carries its code (:data:`TRANSIENT_CODES`); without a code, an
    ``OperationalError`` is a transport failure (connection refused or dropped, read timeout).
    """
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    code = exc.code
    if code is not None:
        return code in TRANSIENT_CODES
    return isinstance(exc, OperationalError)
