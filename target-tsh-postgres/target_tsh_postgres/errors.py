"""The errors target-tsh-postgres ends a run with: each becomes one line and exit code 1.

Database errors are classified where they happen (:mod:`.erp`: refusals of rows, transient
errors) and leave the target only as one of these.
"""

from __future__ import annotations


class ErpError(Exception):
    """Base of every error this target raises on purpose."""


class BadInputError(ErpError, ValueError):
    """A record that cannot become an ERP row; the message names stream and record."""


class TooManyFailuresError(ErpError):
    """More rows were refused than ``max_failed_rows`` allows (the others were committed)."""


class WriteFailedError(ErpError):
    """A batch could not be written even after retries (a transient error that did not pass)."""


class ErpUnavailableError(ErpError):
    """The ERP database cannot be reached or prepared (connect, create tables) at the start."""
