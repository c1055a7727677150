"""The tap's error tree: what went wrong, and whether the run or only one module must stop."""

from __future__ import annotations


class ZohoError(Exception):
    """Base of every error the tap reports as one line."""


class ZohoAuthError(ZohoError):
    """Credentials, data centre or token endpoint problem: the whole run stops."""


class ZohoApiError(ZohoError):
    """A Zoho API answer that is not transient: carries the Zoho code for the summary."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        """Keep Zoho's error code and HTTP status beside the message."""
        super().__init__(message)
        self.code = code
        self.status = status


class ModuleUnavailableError(ZohoApiError):
    """This module cannot be read with these credentials (permission, scope, not supported)."""
