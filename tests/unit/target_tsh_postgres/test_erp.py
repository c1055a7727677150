"""Which PostgreSQL errors are transient and which are refusals (target_tsh_postgres.erp)."""

from __future__ import annotations

import psycopg2
import pytest
from psycopg2 import errors
from target_tsh_postgres import erp


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
    assert erp.is_transient(error())
    assert not isinstance(error(), erp.REFUSALS)


@pytest.mark.parametrize(
    "error",
    [
        errors.NumericValueOutOfRange,
        errors.NotNullViolation,
        errors.CheckViolation,
        errors.InsufficientPrivilege,
        errors.RaiseException,
    ],
)
def test_constraint_rls_and_out_of_range_errors_are_refusals_not_retried(error):
    assert isinstance(error(), erp.REFUSALS)
    assert not erp.is_transient(error())
