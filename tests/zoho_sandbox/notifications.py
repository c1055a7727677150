"""CRM Notification API (``shared/zoho-api.md`` 7) and the sandbox's outgoing calls.

``/crm/v8/actions/watch``: ``POST`` subscribes, ``GET`` lists, ``PUT``/``PATCH`` update,
``DELETE ?channel_ids=`` removes; scopes ``ZohoCRM.notifications.{ALL,READ,CREATE,WRITE,UPDATE,
DELETE}``; ``channel_id`` a long (as a number or a digit string), ``events`` ``<Module>.<all|create|
edit|delete>`` of API-supported modules, at most 10 per channel, ``notify_url`` at most 255
characters, ``token`` at most 50, ``channel_expiry`` in the future and at most
``max_lifetime_seconds`` ahead (one day: the stricter of the two unconfirmed readings); a channel
past its expiry is gone. :meth:`Notifications.notify` posts callbacks to the channels watching a
module; :func:`send_books_webhook` posts a Books workflow webhook, signed like Zoho's finance apps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from .oauth import AccessToken, has_scope

if TYPE_CHECKING:
    from .store import CrmStore

WATCH_PATH = "/crm/v8/actions/watch"
OPERATIONS = {"all", "create", "edit", "delete"}
EVENT_OF_OPERATION = {"insert": "create", "update": "edit", "delete": "delete"}
MAX_EVENTS = 10
MAX_TOKEN = 50
MAX_URL = 255
SCOPES = {
    "GET": ("ZohoCRM.notifications.READ",),
    "POST": ("ZohoCRM.notifications.CREATE", "ZohoCRM.notifications.ALL"),
    "PUT": ("ZohoCRM.notifications.WRITE", "ZohoCRM.notifications.UPDATE"),
    "PATCH": ("ZohoCRM.notifications.WRITE", "ZohoCRM.notifications.UPDATE"),
    "DELETE": ("ZohoCRM.notifications.WRITE", "ZohoCRM.notifications.DELETE"),
}


@dataclass
class Channel:
    """One subscribed channel."""

    channel_id: str
    events: list[str]
    notify_url: str
    token: str | None
    expiry: float

    def modules(self) -> set[str]:
        """Modules the channel watches."""
        return {e.split(".", 1)[0] for e in self.events}

    def watches(self, module: str, event: str) -> bool:
        """True for ``<module>.all`` or ``<module>.<event>``."""
        return f"{module}.all" in self.events or f"{module}.{event}" in self.events


@dataclass
class Delivery:
    """One callback the sandbox sent."""

    url: str
    payload: dict[str, Any]
    status: int


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "details": {}, "message": message, "status": "error"}


class _InvalidError(Exception):
    def __init__(self, code: str, api_name: str, message: str) -> None:
        super().__init__(message)
        self.body = {"code": code, "details": {"api_name": api_name}, "message": message}


@dataclass
class Notifications:
    """The watch API's channels and the callbacks sent to them."""

    store: CrmStore
    base_url: Any  # a callable returning the sandbox's base URL
    max_lifetime_seconds: float = 86400.0
    default_lifetime_seconds: float = 3600.0
    channel_id_as_number: bool = False  # how callbacks carry channel_id (unconfirmed)
    channels: dict[str, Channel] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    wants_body: bool = True

    # ------------------------------------------------------------------ HTTP
    def handles(self, path: str) -> bool:
        """True for the watch endpoint."""
        return path.rstrip("/") == WATCH_PATH

    def serve(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Any,
        access: AccessToken,
        *,
        body: bytes = b"",
    ) -> tuple[int, Any, dict[str, str], str]:
        """Answer one watch call: (status, body, headers, kind for the counters)."""
        if method not in SCOPES:
            return 405, _error("INVALID_REQUEST_METHOD", "method not allowed"), {}, "watch_method"
        if not has_scope(access.scopes, *SCOPES[method], "ZohoCRM.notifications.ALL"):
            body_ = {
                "code": "OAUTH_SCOPE_MISMATCH",
                "details": {},
                "message": "invalid oauth scope to access this URL",
                "status": "error",
            }
            return 401, body_, {}, "watch_scope"
        with self.lock:
            self._expire()
            if method == "GET":
                return self._list(query)
            if method == "DELETE":
                return self._delete(query)
            try:
                items = json.loads(body or b"null")
            except ValueError:
                items = None
            if not isinstance(items, dict) or not isinstance(items.get("watch"), list):
                return 400, _error("INVALID_DATA", 'body must be {"watch": [...]}'), {}, "watch"
            return self._write(method, items["watch"])

    def _expire(self) -> None:
        now = time.time()
        for cid in [c for c, ch in self.channels.items() if ch.expiry <= now]:
            del self.channels[cid]

    def _render(self, epoch: float) -> str:
        return datetime.fromtimestamp(int(epoch), self.store.zone).isoformat(timespec="seconds")

    def _events_detail(self, channel: Channel) -> list[dict[str, Any]]:
        out = []
        for module in sorted(channel.modules()):
            meta = self.store.modules[module]
            out.append(
                {
                    "channel_expiry": self._render(channel.expiry),
                    "resource_uri": f"{self.base_url()}/crm/v8/{module}",
                    "resource_id": meta.module_id,
                    "resource_name": module,
                    "channel_id": channel.channel_id,
                }
            )
        return out

    def _list(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str], str]:
        wanted = query.get("channel_id")
        rows = []
        for channel in self.channels.values():
            if wanted and channel.channel_id != wanted:
                continue
            rows.extend(
                {
                    **detail,
                    "events": [
                        e for e in channel.events if e.startswith(f"{detail['resource_name']}.")
                    ],
                    "notify_url": channel.notify_url,
                    "token": channel.token,
                    "notify_on_related_action": False,
                    "return_affected_field_values": False,
                    "fields": None,
                    "notification_condition": None,
                }
                for detail in self._events_detail(channel)
            )
        if not rows:
            return 204, None, {}, "watch_list"
        info = {"per_page": 200, "count": len(rows), "page": 1, "more_records": False}
        return 200, {"watch": rows, "info": info}, {}, "watch_list"

    def _delete(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str], str]:
        ids = [i for i in query.get("channel_ids", "").split(",") if i]
        if not ids:
            return 400, _error("REQUIRED_PARAM_MISSING", "channel_ids is required"), {}, "watch"
        results = []
        for cid in ids:
            channel = self.channels.pop(cid, None)
            if channel is None:
                results.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"channel_id": cid},
                        "message": "the given channel id is not subscribed",
                        "status": "error",
                    }
                )
            else:
                results.append(
                    {
                        "code": "SUCCESS",
                        "details": {"events": self._events_detail(channel)},
                        "message": "Successfully unsubscribed from actions-watch",
                        "status": "success",
                    }
                )
        return 200, {"watch": results}, {}, "watch_delete"

    def _write(self, method: str, items: list[Any]) -> tuple[int, Any, dict[str, str], str]:
        results = []
        failed = False
        for item in items:
            try:
                channel = self._channel(method, item)
            except _InvalidError as err:
                failed = True
                results.append({**err.body, "status": "error"})
                continue
            self.channels[channel.channel_id] = channel
            results.append(
                {
                    "code": "SUCCESS",
                    "details": {"events": self._events_detail(channel)},
                    "message": "Successfully subscribed for actions-watch of the given module",
                    "status": "success",
                }
            )
        status = 400 if failed and len(results) == 1 else 200
        return status, {"watch": results}, {}, "watch_" + method.lower()

    def _channel(self, method: str, item: Any) -> Channel:
        if not isinstance(item, dict):
            raise _InvalidError("INVALID_DATA", "watch", "each watch entry must be an object")
        raw_id = item.get("channel_id")
        if raw_id is None:
            raise _InvalidError("MANDATORY_NOT_FOUND", "channel_id", "required field not found")
        if isinstance(raw_id, bool) or not str(raw_id).isdigit():
            raise _InvalidError("INVALID_DATA", "channel_id", "channel_id must be a long")
        cid = str(raw_id)
        existing = self.channels.get(cid)
        if method == "PATCH":
            if existing is None:
                raise _InvalidError(
                    "INVALID_DATA", "channel_id", "the given channel id is not subscribed"
                )
            merged = {
                "events": existing.events,
                "notify_url": existing.notify_url,
                "token": existing.token,
                "channel_expiry": self._render(existing.expiry),
                **item,
            }
            item = merged
        for key in ("events", "notify_url"):
            if key not in item:
                raise _InvalidError("MANDATORY_NOT_FOUND", key, "required field not found")
        events = item["events"]
        if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
            raise _InvalidError(
                "INVALID_DATA", "events", f"events must list 1 to {MAX_EVENTS} events"
            )
        for event in events:
            module, _, operation = str(event).partition(".")
            meta = self.store.modules.get(module)
            if meta is None or not meta.api_supported or operation not in OPERATIONS:
                raise _InvalidError("INVALID_DATA", "events", f"invalid event {event}")
        url = item["notify_url"]
        if (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or len(url) > MAX_URL
        ):
            raise _InvalidError("INVALID_DATA", "notify_url", "invalid notify_url")
        token = item.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN):
            raise _InvalidError(
                "INVALID_DATA", "token", f"token must be at most {MAX_TOKEN} characters"
            )
        expiry = self._expiry(item.get("channel_expiry"))
        return Channel(cid, list(events), url, token, expiry)

    def _expiry(self, value: Any) -> float:
        now = time.time()
        if value is None:
            return now + self.default_lifetime_seconds
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise _InvalidError("INVALID_DATA", "channel_expiry", "invalid datetime") from None
        if parsed.tzinfo is None:
            raise _InvalidError("INVALID_DATA", "channel_expiry", "the datetime needs an offset")
        epoch = parsed.timestamp()
        if epoch <= now or epoch > now + self.max_lifetime_seconds:
            limit = timedelta(seconds=self.max_lifetime_seconds)
            raise _InvalidError(
                "INVALID_DATA", "channel_expiry", f"channel_expiry must be within {limit} from now"
            )
        return epoch

    # ------------------------------------------------------------------ callbacks
    def notify(self, module: str, ids: list[str], operation: str = "update") -> list[Delivery]:
        """POST a callback to every live channel watching ``module`` for ``operation``."""
        event = EVENT_OF_OPERATION[operation]
        with self.lock:
            self._expire()
            targets = [c for c in self.channels.values() if c.watches(module, event)]
        sent = []
        for channel in targets:
            payload = {
                "server_time": int(time.time() * 1000),
                "query_params": dict(parse_qsl(urlsplit(channel.notify_url).query)),
                "module": module,
                "resource_uri": f"{self.base_url()}/crm/v8/{module}",
                "ids": list(ids),
                "affected_fields": [],
                "operation": operation,
                "channel_id": int(channel.channel_id)
                if self.channel_id_as_number
                else channel.channel_id,
                "token": channel.token,
            }
            status, _ = post(channel.notify_url, json.dumps(payload).encode())
            delivery = Delivery(channel.notify_url, payload, status)
            with self.lock:
                self.deliveries.append(delivery)
            sent.append(delivery)
        return sent


def post(
    url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    """POST ``body``; return (status, response body); status 0 when nothing answered."""
    request = urllib.request.Request(  # noqa: S310 - loopback URLs given by the test
        url,
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def books_signature(secret: str, query: dict[str, str], body: bytes) -> str:
    """``X-Zoho-Webhook-Signature``: hex HMAC-SHA256 of sorted query pairs, then the raw JSON."""
    message = "".join(k + v for k, v in sorted(query.items())).encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def send_books_webhook(
    url: str,
    entity: str,
    record: dict[str, Any],
    *,
    secret: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST a Books workflow webhook (default payload ``{"<entity>": {...}}``), signed if a secret."""
    query = query or {}
    body = json.dumps({entity: record}).encode()
    target = f"{url}?{urlencode(query)}" if query else url
    extra = dict(headers or {})
    if secret is not None:
        extra["X-Zoho-Webhook-Signature"] = books_signature(secret, query, body)
    return post(target, body, extra)
