"""The tap's error tree: what went wrong, and whether the run or only one module must stop.

Every error the tap raises on purpose is a :class:`ZohoError`, so one ``except ZohoError``
decides a module's fate (:meth:`tap_zoho.sdk.stream.ZohoStream.isolated`) and ``main`` turns
any of them into one line on stderr:

* :class:`ZohoAuthError` (credentials, data centre, token endpoint): the whole run stops;
  :class:`TokenThrottledError` is Zoho Accounts refusing to mint a token for now;
* :class:`TokenRejectedError`: Zoho answered 401 for a token; the request path refreshes the
  token once and retries, so it only escapes when that is not possible;
* :class:`ZohoApiError` and its kinds: one module (or organisation) stops, the others go on;
  :class:`ModuleUnavailableError` is expected (permissions; a reference endpoint's is an
  :class:`EndpointUnavailableError` that says what to grant or enable),
  :class:`RetriesExhaustedError` is a transient failure that outlived every retry,
  :class:`BulkRefusedError` a Bulk Read export Zoho refused (the module is read by Get Records
  instead) and :class:`BadCellError` an exported cell that is not of its field's type;
* :class:`UnsortedResponseError`: Zoho ignored the requested sort order, so keyset paging
  would be unsafe for that module;
* :class:`CreditBudgetExhaustedError`: the run's credit budget is spent; the module stops
  cleanly and the next run goes on from its bookmark.

:class:`RouteRefused` never leaves the CRM reader: a completion route (a subform or linking
module's listing or export) cannot deliver every row, and its parent module falls back to a
dearer route. :class:`ValueMismatchError` never leaves the row shaper: it says a value cannot be
held by its declared type, and the shaper emits null (or widens a discovered field) instead.
"""

from __future__ import annotations


class ZohoError(Exception):
    """Base of every error the tap reports as one line."""


class ZohoAuthError(ZohoError):
    """Credentials, data centre or token endpoint problem: the whole run stops."""


class TokenThrottledError(ZohoAuthError):
    """Zoho Accounts refused to mint a token for now (``Access Denied``)."""


class TokenRejectedError(ZohoError):
    """Zoho answered 401 for this token: refresh once, then give up."""

    def __init__(self, used_token: str | None, code: str) -> None:
        """Remember which token failed, so a token another stream renewed is not renewed again."""
        super().__init__(code)
        self.used_token = used_token
        self.code = code


class ZohoApiError(ZohoError):
    """A Zoho API answer that is not transient: carries the Zoho code for the summary."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        """Keep Zoho's error code and HTTP status beside the message."""
        super().__init__(message)
        self.code = code
        self.status = status


class ModuleUnavailableError(ZohoApiError):
    """This module cannot be read with these credentials (permission, scope, not supported)."""


class EndpointUnavailableError(ModuleUnavailableError):
    """A reference endpoint this account cannot read; :meth:`advice` says what would let it."""

    FEATURE_OFF = frozenset(
        {"FEATURE_NOT_ENABLED", "FEATURE_NOT_SUPPORTED", "CURRENCIES_NOT_ENABLED"}
    )
    PERMISSION = frozenset({"NO_PERMISSION", "AUTHORIZATION_FAILED"})

    def __init__(
        self, cause: ModuleUnavailableError, *, scope: str, what: str, enable: str
    ) -> None:
        """Zoho's code and message, with the endpoint's scope, contents and feature switch."""
        super().__init__(str(cause), code=cause.code, status=cause.status)
        self.scope, self.what, self.enable = scope, what, enable

    def advice(self) -> str:
        """What to do about it, in one sentence naming the scope or the feature."""
        if self.code == "OAUTH_SCOPE_MISMATCH":
            return (
                f"the refresh token lacks the scope {self.scope} ({self}); add it to the "
                "scopes of a new grant code and exchange that for a new refresh token"
            )
        if self.code in self.FEATURE_OFF:
            return f"{self.enable} ({self})"
        if self.code in self.PERMISSION or self.status == 403:  # noqa: PLR2004 - HTTP Forbidden
            return (
                f"the Zoho user who made the refresh token may not read {self.what} ({self}); "
                "give that user's profile the permission, or make the token as an administrator"
            )
        return f"Zoho refuses to list {self.what} for this account ({self})"


class RetriesExhaustedError(ZohoApiError):
    """A transient failure (429, 5xx, timeout, dropped connection) that outlived every retry."""


class BulkRefusedError(ZohoApiError):
    """Bulk Read cannot export this module (or its job failed): read it another way."""


class BadCellError(ZohoApiError):
    """A Bulk Read CSV cell that does not parse as its field's type: the module stops, named."""


class UnsortedResponseError(ZohoError):
    """The server ignored ``sort_order=asc``: keyset paging would be unsafe."""


class CreditBudgetExhaustedError(ZohoError):
    """The run's credit budget is spent: stop reading, keep what was emitted."""


class RouteRefused(Exception):  # noqa: N818 - a decision, not a failure of the run
    """This route cannot deliver every row of a module: its parent module falls back.

    ``lasting``: a later run would meet the same refusal (a 4xx answer, no page token past the
    position cap, rows without their parent, too many fields), so it is worth remembering.
    """

    def __init__(self, message: str, module: str | None = None, *, lasting: bool = True) -> None:
        """``module`` is the subform or linking module refused."""
        super().__init__(message)
        self.module = module
        self.lasting = lasting


class ValueMismatchError(ValueError):
    """A value that cannot be held by its declared type: the row shaper's signal, caught there."""
