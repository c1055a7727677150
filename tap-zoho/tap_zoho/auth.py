"""OAuth for every Zoho product: one access token per run, shared by all streams.

Zoho allows about 10 token mints per refresh token per 10 minutes and keeps only the newest 15
access tokens alive (``shared/zoho-api.md`` 1.4), so the token is minted lazily, reused until
shortly before it expires, and re-minted only when Zoho says it is no longer valid. Token-endpoint
errors often arrive with HTTP 200 (pitfall 6): the body decides.
"""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass
from typing import Any

import requests
from singer_sdk.authenticators import APIAuthenticatorBase

from .errors import ZohoAuthError

if t.TYPE_CHECKING:
    import logging

EXPIRY_MARGIN_SECONDS = 120
TRANSIENT_TOKEN_TRIES = 4

_TOKEN_ERRORS = {
    "invalid_client": (
        "Zoho Accounts at {accounts} does not know client_id (invalid_client): the self client "
        "lives in another data centre. Set api_domain (or accounts_domain) to the data centre "
        "where the client was created"
    ),
    "invalid_client_secret": "client_secret does not match client_id (invalid_client_secret)",
    "invalid_code": (
        "refresh_token was rejected (invalid_code): it is wrong, revoked or superseded by newer "
        "refresh tokens; generate a new one in the Zoho API console of your data centre"
    ),
    "Access Denied": (
        "Zoho Accounts throttled token creation (Access Denied: {description}); wait ten "
        "minutes and avoid running many jobs that each mint tokens"
    ),
}


@dataclass(frozen=True, repr=False)
class OAuthClient:
    """A self client's credentials; ``repr`` is withheld so they never reach a log."""

    client_id: str
    client_secret: str
    refresh_token: str


class ZohoAuthenticator(APIAuthenticatorBase):
    """Adds ``Authorization: Zoho-oauthtoken <token>`` and manages the token's life."""

    def __init__(
        self,
        *,
        accounts_domain: str,
        client: OAuthClient,
        timeout: float,
        logger: logging.Logger,
    ) -> None:
        """Keep the credentials in memory only; nothing is written back to the config."""
        super().__init__()
        self.token_url = f"{accounts_domain.rstrip('/')}/oauth/v2/token"
        self.accounts_domain = accounts_domain
        self._form = {
            "grant_type": "refresh_token",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "refresh_token": client.refresh_token,
        }
        self._timeout = timeout
        self._logger = logger
        self._lock = threading.Lock()
        self._session = requests.Session()
        self.access_token: str | None = None
        self.expires_at = 0.0
        self.api_domain: str | None = None
        self.token_proven = False
        self.mints = 0

    # ------------------------------------------------------------------ requests hook
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Authenticate an outgoing request with a valid token."""
        r.headers["Authorization"] = f"Zoho-oauthtoken {self.current_token()}"
        return r

    def current_token(self) -> str:
        """The live access token, minted now if there is none or it is about to expire."""
        with self._lock:
            if self.access_token is None or time.time() >= self.expires_at - EXPIRY_MARGIN_SECONDS:
                self._mint()
            assert self.access_token is not None  # noqa: S101 - _mint sets it or raises
            return self.access_token

    def token_rejected(self, used_token: str | None) -> bool:
        """Zoho answered 401 for ``used_token``: drop it; return True when a retry makes sense.

        A token that never worked is not retried: a fresh token failing means the wrong data
        centre or missing scopes, and refreshing again would only burn the mint budget.
        """
        with self._lock:
            if used_token != self.access_token:
                return True  # another stream already replaced it
            if not self.token_proven:
                return False
            self.access_token = None
            self.token_proven = False
            return True

    def mark_success(self) -> None:
        """Record that the current token was accepted by the API."""
        self.token_proven = True

    # ------------------------------------------------------------------ minting
    def _mint(self) -> None:
        body = self._post_token_request()
        error = body.get("error")
        if error:
            template = _TOKEN_ERRORS.get(
                str(error), "Zoho Accounts refused the token request ({error})"
            )
            raise ZohoAuthError(
                template.format(
                    accounts=self.accounts_domain,
                    error=error,
                    description=body.get("error_description", "throttled"),
                )
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            msg = f"Zoho Accounts at {self.accounts_domain} answered without an access_token"
            raise ZohoAuthError(msg)
        self.access_token = token
        self.token_proven = False
        self.expires_at = time.time() + _lifetime_seconds(body)
        self.api_domain = body.get("api_domain")
        self.mints += 1
        self._logger.info(
            "Obtained a Zoho access token (valid %ds).", int(self.expires_at - time.time())
        )

    def _post_token_request(self) -> dict[str, Any]:
        last_problem = ""
        for attempt in range(TRANSIENT_TOKEN_TRIES):
            try:
                response = self._session.post(
                    self.token_url, data=self._form, timeout=self._timeout
                )
            except requests.RequestException as exc:
                last_problem = f"could not reach {self.token_url} ({type(exc).__name__})"
            else:
                if response.status_code < 500:  # noqa: PLR2004
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    if isinstance(body, dict):
                        return body
                    last_problem = (
                        f"{self.token_url} answered HTTP {response.status_code} without a JSON "
                        "body; is accounts_domain a Zoho Accounts server?"
                    )
                    break
                last_problem = f"{self.token_url} answered HTTP {response.status_code}"
            time.sleep(min(2**attempt, 10))
        raise ZohoAuthError(last_problem)


def _lifetime_seconds(body: dict[str, Any]) -> float:
    """Seconds the token lives: ``expires_in_sec`` if present, else ``expires_in`` in seconds.

    Old Zoho responses carried ``expires_in_sec`` and then sent ``expires_in`` in milliseconds
    (pitfall 8); a value above a day cannot be seconds, so it is read as milliseconds.
    """
    if "expires_in_sec" in body:
        return float(body["expires_in_sec"])
    value = float(body.get("expires_in", 3600))
    return value / 1000 if value > 86_400 else value  # noqa: PLR2004
