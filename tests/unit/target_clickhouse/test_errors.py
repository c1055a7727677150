"""Which ClickHouse failures are retried: decided by exception type and error code, not by name."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import (
    DatabaseError,
    DataError,
    OperationalError,
    ProgrammingError,
    StreamFailureError,
)
from target_clickhouse.errors import transient


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("Network Error: connection refused"),  # transport: no server code
        StreamFailureError("Stream ended unexpectedly (connection closed by server)"),
        DatabaseError("Code: 202. Too many simultaneous queries", code=202),
        DatabaseError("Code: 159. Timeout exceeded", code=159),
        DatabaseError("Code: 209. Socket timeout", code=209),
        DatabaseError("Code: 252. Too many parts", code=252),
        OperationalError("retried 503, Code: 241 memory limit", code=241),
        ConnectionResetError("reset by peer"),
        TimeoutError("timed out"),
    ],
)
def test_network_failures_and_overload_codes_are_retried(error):
    assert transient(error)


@pytest.mark.parametrize(
    "error",
    [
        DatabaseError("Code: 27. Cannot parse input", code=27),
        DataError("Code: 53. Type mismatch", code=53),
        ProgrammingError("Code: 60. Unknown table", code=60),
        OperationalError("retried, still Code: 62 syntax error", code=62),  # retried: still bad
        DatabaseError("HTTP driver received HTTP status 400"),  # a server answer, no code
        ValueError("Timeout in a value is no network error"),  # names do not decide
        RuntimeError("ConnectionError"),
    ],
)
def test_errors_of_the_data_or_the_statement_are_not_retried(error):
    assert not transient(error)
