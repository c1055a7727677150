"""Which PostgreSQL errors are transient and which are refusals (target_tsh_postgres.errors)."""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2 import errors
from target_tsh_postgres.errors import REFUSALS, is_transient


@pytest.mark.parametrize(
    "error",
    [
        errors.LockNotAvailable,
        errors.QueryCanceled,
        errors.DeadlockDetected,
        errors.SerializationFailure,
        errors.AdminShutdown,
        psycopg2.InterfaceError,
    ],
)
def test_lock_timeouts_deadlocks_serialization_failures_and_lost_connections_are_transient(error):
    assert is_transient(error())
    assert not isinstance(error(), REFUSALS)


@pytest.mark.parametrize(
    "error",
    [
        errors.NumericValueOutOfRange,
        errors.NotNullViolation,
        errors.CheckViolation,
        errors.InsufficientPrivilege,
        errors.RaiseException,
        errors.ProgramLimitExceeded,  # an id too long for its index entry
        errors.StatementTooComplex,  # JSON nested deeper than the server's stack
    ],
)
def test_constraint_rls_and_out_of_range_errors_are_refusals_not_retried(error):
    assert isinstance(error(), REFUSALS)
    assert not is_transient(error())
