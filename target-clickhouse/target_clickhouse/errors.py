"""The errors target-clickhouse ends a run with on purpose: each becomes one line and exit 1.

Errors of the ClickHouse driver itself (``clickhouse_connect.driver.exceptions.Error``) end a run
the same way; which of them are worth retrying is decided by :func:`.sinks.transient`.
"""

from __future__ import annotations


class TargetClickHouseError(Exception):
    """Base of every error this target raises on purpose."""


class BadRecordError(TargetClickHouseError, ValueError):
    """A record that cannot be stored: the message names stream, column and value."""


class ClickHouseUnavailableError(TargetClickHouseError, RuntimeError):
    """The server (or the embedded data path) cannot be opened; the message says where."""


class SchemaChangeError(TargetClickHouseError, ValueError):
    """A table change that cannot be made: a key column changing type, two streams, one table."""
