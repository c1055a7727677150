"""The service's error tree: every failure it reports on purpose is a :class:`ServiceError`.

One ``except ServiceError`` in the CLI turns any of them into one line on stderr and a non-zero
exit; the HTTP layer answers :class:`RejectedError` with its status and message:

* :class:`RejectedError`: a call the service refuses (401, 400, 408, 413), said in one line;
* :class:`SettingsError`: a setting has a value the service cannot use;
* :class:`ChannelError`: Zoho refused a Notification API call (subscribe, renew, remove);
* :class:`AlreadyRunningError`: another ``serve`` already owns the database.

Messages never carry a secret, and never echo a caller's bytes that were not checked first.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service reports as one line."""


class RejectedError(ServiceError):
    """A call the service refuses, with the HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        """Refuse with ``status`` because of ``message``."""
        super().__init__(message)
        self.status = status
        self.message = message


class SettingsError(ServiceError, ValueError):
    """A setting has a value the service cannot use."""


class ChannelError(ServiceError):
    """Zoho refused a channel call; the message names the call and Zoho's code."""


class AlreadyRunningError(ServiceError):
    """Another ``serve`` holds the database; the message names that instance."""
