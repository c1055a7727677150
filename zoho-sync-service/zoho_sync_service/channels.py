"""CRM notification channels (``/crm/v8/actions/watch``): subscribe, renew, list, remove.

Each channel gets a random ``token`` (at most 50 characters, as Zoho documents); Zoho echoes it in
every callback and the service accepts callbacks only with a token it stored. Callbacks are not
signed, so whoever reads one (a proxy's log, say) could forge others with its token: every
renewal therefore gives the channel a new token, and the one it replaces is still accepted for
``TOKEN_GRACE_SECONDS`` (callbacks Zoho queued before the renewal). The maximum
``channel_expiry`` is short and not confirmed (one day in older API versions, one week in newer
ones), so channels are asked for just under a day and renewed well before they expire; if Zoho
shortens the expiry, the one it answers is kept. A channel that Zoho no longer knows is
subscribed again under the same id and token.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from .errors import ChannelError
from .history import Channel, History, now_iso

if TYPE_CHECKING:
    from .settings import ZohoCredentials

LOG = logging.getLogger("zoho_sync_service.channels")
MAX_EVENTS_PER_CHANNEL = 10
TOKEN_MARGIN_SECONDS = 60
TOKEN_GRACE_SECONDS = 3600.0


def new_token() -> str:
    """A channel token: 40 random hex digits (Zoho allows 50 characters)."""
    return secrets.token_hex(20)


def expiry_after(seconds: float) -> str:
    """An ISO ``channel_expiry`` ``seconds`` from now, in UTC, to the second."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def events_for(modules: list[str]) -> list[str]:
    """``<Module>.all`` for each module (create, edit and delete)."""
    return [f"{m}.all" for m in modules]


class ZohoChannels:
    """Calls the Notification API with a refreshed access token."""

    def __init__(self, credentials: ZohoCredentials, timeout: float = 30.0) -> None:
        """Use ``credentials``; each call times out after ``timeout`` seconds."""
        self.credentials = credentials
        self._client = httpx.AsyncClient(timeout=timeout)
        self._token = ""
        self._token_expires = 0.0

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def _access_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        creds = self.credentials
        response = await self._client.post(
            f"{creds.accounts_domain}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": creds.refresh_token,
            },
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        token: str | None = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            error = body.get("error") if isinstance(body, dict) else None
            raise ChannelError(
                f"Zoho Accounts refused the refresh token: HTTP {response.status_code} "
                f"{error or 'no access_token'}"
            )
        self._token = token
        expires_in = float(body.get("expires_in") or 3600)
        self._token_expires = time.monotonic() + max(0.0, expires_in - TOKEN_MARGIN_SECONDS)
        return token

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.credentials.api_domain}/crm/v8/actions/watch"
        for attempt in (1, 2):
            headers = {"Authorization": f"Zoho-oauthtoken {await self._access_token()}"}
            response = await self._client.request(method, url, headers=headers, **kwargs)
            if response.status_code == httpx.codes.UNAUTHORIZED and attempt == 1:
                self._token = ""  # expired or revoked early: refresh once, then give up
                continue
            break
        if response.status_code == httpx.codes.NO_CONTENT or not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= httpx.codes.BAD_REQUEST:
            raise ChannelError(
                f"{method} actions/watch: HTTP {response.status_code} {_codes(body)}"
            )
        return body if isinstance(body, dict) else {}

    async def watch(self, channel: Channel, *, update: bool) -> Channel:
        """Create (POST) or update (PATCH) one channel; return it with Zoho's expiry."""
        item = {
            "channel_id": channel.channel_id,
            "events": channel.events,
            "notify_url": channel.notify_url,
            "token": channel.token,
            "channel_expiry": channel.channel_expiry,
        }
        body = await self._call("PATCH" if update else "POST", json={"watch": [item]})
        result = (body.get("watch") or [{}])[0]
        if str(result.get("status", "")).lower() != "success":
            raise ChannelError(
                f"actions/watch refused channel {channel.channel_id}: {_codes(body)}"
            )
        events = (result.get("details") or {}).get("events") or []
        expiries = [e.get("channel_expiry") for e in events if e.get("channel_expiry")]
        expiry = min(expiries) if expiries else channel.channel_expiry
        return dataclasses.replace(channel, channel_expiry=expiry)

    async def remote(self) -> list[dict[str, Any]]:
        """The channels Zoho has for this user."""
        return list((await self._call("GET")).get("watch") or [])

    async def remove(self, channel_ids: list[str]) -> None:
        """Unsubscribe channels."""
        await self._call("DELETE", params={"channel_ids": ",".join(channel_ids)})


def _codes(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("watch"), list):
        return "; ".join(f"{w.get('code')}: {w.get('message')}" for w in body["watch"])
    if isinstance(body, dict):
        return f"{body.get('code')}: {body.get('message')}"
    return "no details"


def _margin(channel: Channel, renew_before: float) -> float:
    """Renew ``renew_before`` ahead, or halfway if Zoho granted less than twice that."""
    granted = channel.granted()
    if granted is None or granted <= 0:
        return renew_before
    return min(renew_before, granted / 2)


class ChannelManager:
    """The service's channels: subscribed with Zoho, remembered in the history database."""

    def __init__(self, zoho: ZohoChannels, history: History, lifetime: float) -> None:
        """Keep channels alive for ``lifetime`` seconds per renewal."""
        self.zoho = zoho
        self.history = history
        self.lifetime = lifetime

    async def subscribe(self, modules: list[str], notify_url: str) -> list[Channel]:
        """One channel per ten modules, each with its own random token."""
        if not notify_url:
            raise ChannelError(
                "no notify URL: pass --notify-url or set ZOHO_SYNC_SERVICE_NOTIFY_URL"
            )
        created = []
        base = int(time.time() * 1000)
        for index in range(0, len(modules), MAX_EVENTS_PER_CHANNEL):
            chunk = modules[index : index + MAX_EVENTS_PER_CHANNEL]
            channel = Channel(
                str(base + index),
                chunk,
                events_for(chunk),
                new_token(),
                notify_url,
                expiry_after(self.lifetime),
            )
            channel = await self.zoho.watch(channel, update=False)
            self.history.save_channel(channel)
            created.append(channel)
        return created

    async def renew(self, channel: Channel) -> Channel:
        """Move a channel's expiry forward with a new token; subscribe it again if Zoho dropped it.

        Zoho is told first and the database after: a refused call changes nothing here.
        """
        fresh = dataclasses.replace(
            channel,
            token=new_token(),
            channel_expiry=expiry_after(self.lifetime),
            previous_token=channel.token,
            rotated_at=now_iso(),
        )
        known = {str(w.get("channel_id")) for w in await self.zoho.remote()}
        renewed = await self.zoho.watch(fresh, update=channel.channel_id in known)
        self.history.save_channel(renewed)
        LOG.info("Renewed channel %s until %s", renewed.channel_id, renewed.channel_expiry)
        return renewed

    async def renew_due(self, renew_before: float, *, everything: bool = False) -> list[Channel]:
        """Renew every channel expiring within its margin (or all of them, ``everything``)."""
        due = [
            c
            for c in self.history.channels()
            if everything or c.expires_in() <= _margin(c, renew_before)
        ]
        return [await self.renew(channel) for channel in due]

    async def remove(self, channel_ids: list[str] | None = None) -> list[str]:
        """Unsubscribe the given channels (all of the service's when None)."""
        ids = channel_ids or [c.channel_id for c in self.history.channels()]
        if ids:
            await self.zoho.remove(ids)
        for channel_id in ids:
            self.history.delete_channel(channel_id)
        return ids
