"""Every exception target-tsh-postgres raises, and how it reads the database's errors.

Errors that end a run (every :class:`ErpError` but :class:`RecordRefusedError`) become one line
and exit code 1 (:func:`.target.main`). :class:`RecordRefusedError` and :class:`SkipRow` decide
the fate of one record and never leave the target.

Database errors are classified here, once, by psycopg2 class and SQLSTATE (never by message):
:data:`REFUSALS` are PostgreSQL refusing the data of a row (the upsert isolates those rows), and
:func:`is_transient` errors pass if the same batch is tried again (the writer retries them).
"""

from __future__ import annotations

import psycopg2
from psycopg2 import errors


class ErpError(Exception):
    """Base of every error this target raises on purpose."""


class BadRecord(ErpError, ValueError):  # noqa: N818 - the name the tests and users know
    """A record that cannot become a row at all (missing id, unreadable time): a tap's bug."""


class BadInputError(ErpError, ValueError):
    """Input the target cannot read on: the message names the stream and the record."""


class TooManyFailuresError(ErpError):
    """More rows were refused than ``max_failed_rows`` allows (the others were committed)."""


class WriteFailedError(ErpError):
    """A batch could not be written even after retries (a transient error that did not pass)."""


class ErpUnavailableError(ErpError):
    """The ERP database cannot be reached or prepared (connect, create tables) at the start."""


class RecordRefusedError(ErpError):
    """The target refuses a record's rows before the database sees them; the others go on.

    ``field`` names the Zoho field, ``value`` shows what it held (shortened, printable).
    """

    def __init__(self, field: str, value: str, reason: str) -> None:
        """One refusal: which field, what it held, why it cannot be stored."""
        super().__init__(f"{field} {value}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class SkipRow(Exception):  # noqa: N818 - a decision, not an error
    """The record is deliberately not loaded (the reason is counted as skipped)."""


class TooDeepFound(Exception):  # noqa: N818 - a signal inside storable.py, never raised out
    """A value the reader marked too deep to decode was met while encoding a record."""


# What PostgreSQL refuses because of the rows themselves: writing the same rows again can never
# succeed, so they are isolated and reported. Triggers that refuse a row raise RaiseException.
REFUSALS: tuple[type[Exception], ...] = (
    psycopg2.DataError,  # class 22: out of range, invalid text representation, too long...
    psycopg2.IntegrityError,  # class 23: not null, check, foreign key, unique
    errors.InsufficientPrivilege,  # 42501: row-level security policies
    errors.RaiseException,  # P0001: a trigger's RAISE EXCEPTION
    # Class 54: a value beyond what the server can hold (JSON nested deeper than its stack, an
    # id too long for a B-tree index entry). psycopg2 maps these to OperationalError, like the
    # transient classes, and gives each SQLSTATE its own class: all four are listed.
    errors.ProgramLimitExceeded,  # 54000
    errors.StatementTooComplex,  # 54001
    errors.TooManyColumns,  # 54011
    errors.TooManyArguments,  # 54023
)


def is_transient(exc: BaseException) -> bool:
    """True for errors that a later attempt of the same batch can get past.

    psycopg2 maps SQLSTATE classes 08 (connection), 40 (deadlock, serialization failure),
    53 (insufficient resources), 55 (lock not available), 57 (statement timeout, shutdown) and
    58 to ``OperationalError``; a closed connection raises ``InterfaceError``. Class 54 is an
    ``OperationalError`` too, but a refusal of the data (:data:`REFUSALS`), never transient.
    """
    if isinstance(exc, REFUSALS):
        return False
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))
