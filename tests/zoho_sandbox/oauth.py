"""Zoho Accounts: the refresh-token grant, its error bodies, the mint throttle and token validity.

Follows section 1 of ``shared/zoho-api.md``: errors come as ``{"error": ...}`` bodies (HTTP 200 or 400,
configurable), at most 10 mints per refresh token per 10 minutes, the newest 15 access tokens stay
valid, tokens expire after ``expires_in`` seconds, and a client belongs to exactly one data centre.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

MINT_WINDOW_SECONDS = 600
THROTTLE_DESCRIPTION = (
    "You have made too many requests continuously. Please try again after some time."
)
ALL_SCOPES = (
    "ZohoCRM.modules.READ ZohoCRM.settings.READ ZohoCRM.coql.READ ZohoCRM.bulk.READ "
    "ZohoCRM.users.READ ZohoCRM.org.READ ZohoCRM.settings.pipeline.READ "
    "ZohoBooks.fullaccess.all ZohoInventory.FullAccess.all ZohoCRM.notifications.ALL"
)
# What ZohoCRM.settings.READ stands for when one of its parts is denied (2.4; whether it also
# grants settings.pipeline is unconfirmed, so the pipeline scope is never implied here).
SETTINGS_PARTS = ("modules", "fields", "layouts", "roles", "profiles", "territories", "currencies")


@dataclass
class RefreshToken:
    """A refresh token of one client, with its scopes."""

    client_id: str
    scopes: frozenset[str]
    revoked: bool = False
    mints: deque[float] = field(default_factory=deque)


@dataclass
class AccessToken:
    """A minted access token."""

    refresh_token: str
    scopes: frozenset[str]
    dc: str
    expires_at: float


class TokenError(Exception):
    """A token-endpoint error, rendered as Zoho's ``{"error": ...}`` body."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.body: dict[str, str] = {"error": error}
        if description:
            self.body["error_description"] = description
            self.body["status"] = "failure"


class Accounts:
    """Clients, refresh tokens and access tokens of one sandbox (one data centre)."""

    def __init__(
        self,
        *,
        dc: str = "com",
        token_ttl: int = 3600,
        max_active_tokens: int = 15,
        mints_per_window: int = 10,
    ) -> None:
        self.dc = dc
        self.token_ttl = token_ttl
        self.max_active_tokens = max_active_tokens
        self.mints_per_window = mints_per_window
        self.clients: dict[str, tuple[str, str]] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: OrderedDict[str, AccessToken] = OrderedDict()
        self.mint_count = 0
        #: Every access token minted, revoked and expired ones included (what logs must not show).
        self.minted: list[str] = []
        self._lock = threading.Lock()

    def register_client(self, client_id: str, secret: str, *, dc: str | None = None) -> None:
        """Create a self client living in ``dc`` (default: this sandbox's data centre)."""
        self.clients[client_id] = (secret, dc or self.dc)

    def issue_refresh_token(
        self, client_id: str, scopes: str = ALL_SCOPES, *, token: str | None = None
    ) -> str:
        """Create a refresh token for a client, as the API console would."""
        token = token or f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.refresh_tokens[token] = RefreshToken(client_id, frozenset(scopes.split()))
        return token

    def set_scopes(self, refresh_token: str, scopes: str) -> None:
        """Give a refresh token other scopes; tokens minted from now on carry them."""
        self.refresh_tokens[refresh_token].scopes = frozenset(scopes.split())

    def deny_scope(self, refresh_token: str, scope: str) -> None:
        """Take ``ZohoCRM.<scope>`` (``users``, ``org``, ``settings.roles``, ...) from a token.

        The umbrella ``ZohoCRM.settings.READ``/``.ALL`` is replaced by its other parts, so the
        denied endpoint answers 401 ``OAUTH_SCOPE_MISMATCH`` and the token's ``scope`` leaves it out.
        """
        token = self.refresh_tokens[refresh_token]
        denied = {f"zohocrm.{scope}.read".lower(), f"zohocrm.{scope}.all".lower()}
        kept = {s for s in token.scopes if s.lower() not in denied}
        umbrella = {
            s for s in kept if s.lower() in {"zohocrm.settings.read", "zohocrm.settings.all"}
        }
        if umbrella and scope.startswith("settings."):
            kept -= umbrella
            kept |= {
                f"ZohoCRM.settings.{part}.READ"
                for part in SETTINGS_PARTS
                if f"settings.{part}" != scope
            }
        token.scopes = frozenset(kept)

    def refresh(
        self, params: dict[str, str], api_domain: str, *, throttled: bool = False
    ) -> dict[str, object]:
        """Handle ``grant_type=refresh_token``; raise :class:`TokenError` like Zoho does.

        ``throttled`` refuses the mint as Zoho does when other jobs share the refresh token.
        """
        if params.get("grant_type") != "refresh_token":
            raise TokenError("unsupported_grant_type")
        client_id = params.get("client_id", "")
        client = self.clients.get(client_id)
        if client is None or client[1] != self.dc:
            raise TokenError("invalid_client")
        if params.get("client_secret") != client[0]:
            raise TokenError("invalid_client_secret")
        rt = self.refresh_tokens.get(params.get("refresh_token", ""))
        if rt is None or rt.revoked or rt.client_id != client_id:
            raise TokenError("invalid_code")
        with self._lock:
            now = time.monotonic()
            while rt.mints and now - rt.mints[0] > MINT_WINDOW_SECONDS:
                rt.mints.popleft()
            if throttled or len(rt.mints) >= self.mints_per_window:
                raise TokenError("Access Denied", THROTTLE_DESCRIPTION)
            rt.mints.append(now)
            self.mint_count += 1
            token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
            self.minted.append(token)
            self.access_tokens[token] = AccessToken(
                params["refresh_token"], rt.scopes, self.dc, time.time() + self.token_ttl
            )
            self._enforce_active_cap(params["refresh_token"])
        return {
            "access_token": token,
            "scope": " ".join(sorted(rt.scopes)),
            "api_domain": api_domain,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
        }

    def _enforce_active_cap(self, refresh_token: str) -> None:
        mine = [k for k, v in self.access_tokens.items() if v.refresh_token == refresh_token]
        for stale in mine[: max(0, len(mine) - self.max_active_tokens)]:
            del self.access_tokens[stale]

    def check(self, token: str) -> AccessToken | None:
        """Return the live access token, or None when unknown, expired or revoked."""
        found = self.access_tokens.get(token)
        if found is None or found.expires_at <= time.time() or found.dc != self.dc:
            return None
        return found

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token (as a password change or admin revocation would)."""
        with self._lock:
            self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Make every access token expire now."""
        with self._lock:
            for token in self.access_tokens.values():
                token.expires_at = 0


def has_scope(granted: frozenset[str], *candidates: str) -> bool:
    """True when any candidate scope (case-insensitive, ``.ALL`` covering ``.READ``) is granted."""
    lowered = {s.lower() for s in granted}
    for candidate in candidates:
        c = candidate.lower()
        if c in lowered or (c.endswith(".read") and c[:-5] + ".all" in lowered):
            return True
    return False
