"""Reading and authenticating webhook calls: Books/Inventory workflow webhooks, CRM notifications.

Books/Inventory (``zoho-api.md`` 7): a webhook can be secured with a secret; Zoho's finance apps
then send ``X-Zoho-Webhook-Signature``, an HMAC-SHA256 of the payload. Which bytes Books signs is
not documented for Books itself, so every reading Zoho documents for its finance family verifies:
the sorted query/form pairs followed by the raw JSON (Zoho Billing), the raw body alone, and
``t=<ms>,v=<hex>`` over ``<t>.<body>`` (Zoho Payments); hex or base64. Without a signature header,
the secret must arrive as a custom header or query parameter the user added to the webhook. A CRM
notification carries the channel's ``token`` in its body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from starlette.requests import Request

SIGNATURE_HEADER = "x-zoho-webhook-signature"
TOKEN_HEADERS = (
    "x-zoho-webhook-secret",
    "x-zoho-webhook-token",
    "x-webhook-secret",
    "x-webhook-token",
)
TOKEN_PARAMS = ("secret", "token", "webhook_secret")
BOOKS_ENTITIES = {
    "item": "items",
    "items": "items",
    "composite_item": "items",
    "contact": "contacts",
    "contacts": "contacts",
    "customer": "contacts",
    "vendor": "contacts",
    "pricebook": "pricebooks",
    "pricebooks": "pricebooks",
    "price_book": "pricebooks",
    "pricelist": "pricebooks",
    "price_list": "pricebooks",
}


class RejectedError(Exception):
    """A call the service refuses, with the HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        """Refuse with ``status`` because of ``message``."""
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RejectedError(413, f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RejectedError(413, f"request body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _digests_match(secret: bytes, message: bytes, signature: str) -> bool:
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    candidates = (digest.hex(), base64.b64encode(digest).decode())
    given = signature.strip()
    return any(
        hmac.compare_digest(given.lower().encode(), c.lower().encode())
        if c.isalnum()
        else hmac.compare_digest(given.encode(), c.encode())
        for c in candidates
    )


def signature_messages(query: list[tuple[str, str]], body: bytes, content_type: str) -> list[bytes]:
    """The byte strings Zoho's finance apps are documented to sign."""
    pairs = list(query)
    if _is_form(content_type):
        pairs += parse_qsl(body.decode(errors="replace"), keep_blank_values=True)
        billing = "".join(k + v for k, v in sorted(pairs)).encode()
    else:
        billing = "".join(k + v for k, v in sorted(pairs)).encode() + body
    return [billing, body] if billing != body else [body]


def signature_valid(
    secret: str, signature: str, query: list[tuple[str, str]], body: bytes, content_type: str
) -> bool:
    """True when ``signature`` is an HMAC-SHA256 under ``secret`` of one documented reading."""
    key = secret.encode()
    parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
    if "t" in parts and "v" in parts:
        return _digests_match(key, parts["t"].encode() + b"." + body, parts["v"])
    return any(
        _digests_match(key, message, signature)
        for message in signature_messages(query, body, content_type)
    )


def books_authentic(secret: str, headers: Any, query: list[tuple[str, str]], body: bytes) -> bool:
    """Whether a Books/Inventory webhook call proves it knows ``ZOHO_WEBHOOK_SECRET``."""
    if not secret:
        return False
    signature = headers.get(SIGNATURE_HEADER)
    if signature:
        return signature_valid(secret, signature, query, body, headers.get("content-type", ""))
    supplied = [headers.get(h, "") for h in TOKEN_HEADERS]
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        supplied.append(credentials.strip())
    supplied += [v for k, v in query if k in TOKEN_PARAMS]
    expected = secret.encode()
    return any(v and hmac.compare_digest(v.encode(), expected) for v in supplied)


def books_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The webhook's entity JSON (default payload, raw JSON or form fields); 400 otherwise."""
    if not _is_form(content_type):
        return json_object(body, "webhook body")
    if not body.strip():
        raise RejectedError(400, "empty webhook body")
    form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    embedded = form.get("JSONString") or form.get("payload")
    return json_object(embedded.encode(), "form field JSONString") if embedded else form


def books_resources(data: dict[str, Any], query: list[tuple[str, str]]) -> frozenset[str] | None:
    """Finance resources a webhook is about; None (read all) when the payload does not say."""
    hints = [k.lower() for k in data]
    for key in ("entity", "module", "event_type", "resource"):
        value = data.get(key)
        if isinstance(value, str):
            hints.append(value.lower().split(".", 1)[0])
    hints += [v.lower() for k, v in query if k in {"entity", "module"}]
    found = {BOOKS_ENTITIES[h] for h in hints if h in BOOKS_ENTITIES}
    return frozenset(found) or None


def crm_notification(body: bytes) -> dict[str, Any]:
    """A CRM Notification API callback body; 400 when it is not one."""
    return json_object(body, "notification body")


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """``body`` parsed as a JSON object; 400 naming ``what`` otherwise."""
    if not body.strip():
        raise RejectedError(400, f"empty {what}")
    try:
        data = json.loads(body)
    except ValueError:
        raise RejectedError(400, f"{what} is not JSON") from None
    if not isinstance(data, dict):
        raise RejectedError(400, f"{what} must be a JSON object")
    return data


def crm_token_valid(data: dict[str, Any], expected: list[str]) -> bool:
    """Whether the callback's ``token`` is one the service handed to Zoho."""
    token = data.get("token")
    if not isinstance(token, str) or not token:
        return False
    return any(e and hmac.compare_digest(token.encode(), e.encode()) for e in expected)


def crm_module(data: dict[str, Any], channel_modules: list[str]) -> str:
    """The module a callback names (``module``, else ``resource_uri``, else its channel's)."""
    module = data.get("module")
    if isinstance(module, dict):
        module = module.get("api_name")
    if isinstance(module, str) and module.strip():
        return module.strip()
    uri = data.get("resource_uri")
    if isinstance(uri, str) and uri.rstrip("/"):
        return uri.rstrip("/").rsplit("/", 1)[-1]
    if len(channel_modules) == 1:
        return channel_modules[0]
    raise RejectedError(400, "notification names no module (module or resource_uri)")
