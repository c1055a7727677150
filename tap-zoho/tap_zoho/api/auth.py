"""OAuth for every Zoho product: one access token per run, shared by all streams.

Zoho allows about 10 token mints per refresh token per 10 minutes and keeps only the newest 15
access tokens alive (``shared/zoho-api.md`` 1.4), so the token is minted lazily, reused until
shortly before it expires, and re-minted only when Zoho says it is no longer valid. "Shortly" scales
with the lifetime (at most 120 s, at most a tenth of it), so short-lived tokens are reused too.
Token-endpoint errors often arrive with HTTP 200 (pitfall 6): the body decides. A refresh
throttled in the middle of a run (other jobs share the refresh token) is retried with backoff for
a bounded time; the run's first token failing stays one clear error.
"""

from __future__ import annotations

import threading
import time
import typing as t
from dataclasses import dataclass
from typing import Any

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from typing_extensions import override

from tap_zoho.errors import TokenThrottledError, ZohoAuthError

if t.TYPE_CHECKING:
    import logging

EXPIRY_MARGIN_SECONDS = 120
EXPIRY_MARGIN_SHARE = 0.1
TRANSIENT_TOKEN_TRIES = 4
THROTTLE_FIRST_WAIT_SECONDS = 5.0
THROTTLE_MAX_STEP_SECONDS = 60.0
THROTTLED = "Access Denied"

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


def expiry_margin(lifetime: float) -> float:
    """Seconds before expiry at which a token is renewed: 120 s, or a tenth of a short life."""
    return min(EXPIRY_MARGIN_SECONDS, max(lifetime, 0.0) * EXPIRY_MARGIN_SHARE)


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
        throttle_max_wait: float = 600.0,
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
        self._throttle_max_wait = throttle_max_wait
        self._lock = threading.Lock()
        self._session = requests.Session()
        self.access_token: str | None = None
        self.expires_at = 0.0
        self.renew_at = 0.0
        self.token_proven = False
        self._minted_once = False

    # ------------------------------------------------------------------ requests hook
    @override
    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Authenticate an outgoing request with a valid token."""
        r.headers["Authorization"] = f"Zoho-oauthtoken {self.current_token()}"
        return r

    def current_token(self) -> str:
        """The live access token, minted now if there is none or it is about to expire."""
        with self._lock:
            if self.access_token is None or time.time() >= self.renew_at:
                self._renew()
            assert self.access_token is not None  # noqa: S101 - _renew sets it or raises
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

    def close(self) -> None:
        """Close the token endpoint's HTTP session."""
        self._session.close()

    # ------------------------------------------------------------------ minting
    def _renew(self) -> None:
        """Mint a token; mid-run, ride out a throttle for ``throttle_max_wait`` seconds.

        A throttled renewal while the current token is still valid keeps that token and tries
        again a little later; without a valid token it waits with doubling steps.
        """
        waited = 0.0
        step = min(THROTTLE_FIRST_WAIT_SECONDS, max(self._throttle_max_wait / 10, 0.1))
        while True:
            try:
                self._mint()
            except TokenThrottledError as exc:
                if not self._minted_once:
                    raise  # the run's first token: one clear error, nothing to wait for
                now = time.time()
                if self.access_token is not None and now < self.expires_at - 1:
                    self.renew_at = min(self.expires_at - 1, now + step)
                    self._logger.warning(
                        "Zoho Accounts throttled the token refresh (%s); the current token is "
                        "valid for %.0fs more, trying again then.",
                        THROTTLED,
                        self.expires_at - now,
                    )
                    return
                if waited >= self._throttle_max_wait:
                    msg = (
                        f"{exc}; still refused after retrying for {waited:.0f}s "
                        "(token_throttle_max_wait_seconds)"
                    )
                    raise ZohoAuthError(msg) from None
                pause = min(step, self._throttle_max_wait - waited)
                self._logger.warning(
                    "Zoho Accounts throttled the token refresh mid-run (%s: other jobs share this "
                    "refresh token, or too many refreshes); retrying in %.0fs (waited %.0fs of at "
                    "most %.0fs).",
                    THROTTLED,
                    pause,
                    waited,
                    self._throttle_max_wait,
                )
                time.sleep(pause)
                waited += pause
                step = min(step * 2, THROTTLE_MAX_STEP_SECONDS)
            else:
                return

    def _mint(self) -> None:
        body = self._post_token_request()
        error = body.get("error")
        if error:
            template = _TOKEN_ERRORS.get(
                str(error), "Zoho Accounts refused the token request ({error})"
            )
            kind = TokenThrottledError if error == THROTTLED else ZohoAuthError
            raise kind(
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
        lifetime = _lifetime_seconds(body)
        now = time.time()
        self.access_token = token
        self.token_proven = False
        self.expires_at = now + lifetime
        self.renew_at = self.expires_at - expiry_margin(lifetime)
        self._minted_once = True
        self._logger.info(
            "Obtained a Zoho access token (valid %ds, renewed %ds before expiry).",
            int(lifetime),
            int(expiry_margin(lifetime)),
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
