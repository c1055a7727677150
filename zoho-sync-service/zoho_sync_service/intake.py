"""Reading and authenticating webhook calls: Books/Inventory workflow webhooks, CRM notifications.

Cheap refusals come first: a missing secret, signature or token is refused before the body is
read; a body is read up to ``max_body_bytes`` and within ``body_timeout_seconds``; the signature is
checked before the body is decoded; decoding is bounded (form fields, percent escapes, JSON
nesting), and whatever cannot be decoded is a 400, never a 500.

What Zoho signs (``zoho-api.md`` 7). Books/Inventory: a webhook "secured" with a secret carries
``X-Zoho-Webhook-Signature``, an HMAC-SHA256 under the secret. Which bytes Books signs is not
documented for Books itself, so every reading Zoho documents for its finance family verifies: the
sorted query/form pairs followed by the raw JSON (Zoho Billing; the URL's query is then signed),
the raw body alone, and ``t=<ms>,v=<hex>`` over ``<t>.<body>`` (Zoho Payments; the timestamp is
signed and must be within ``signature_tolerance_seconds``); hex or base64. Nothing else is signed:
not the path, not the other headers, not the query in the last two readings, and (except for
``t=``) not the time, so a captured delivery can be sent again verbatim (:mod:`.replay` answers
those without storing them). Only signed content decides what is synced: a query parameter counts
only when the signature covers it. Without a signature header, the secret must arrive as a custom
header or query parameter the user added to the webhook; then nothing is signed and only the body
is read. A CRM notification is not signed at all: its body carries the channel's ``token``, a
shared secret Zoho echoes, which the service rotates at every channel renewal.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .errors import RejectedError

if TYPE_CHECKING:
    from starlette.requests import Request

__all__ = ["RejectedError"]

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
# Bounds of the one expensive signature reading (a form's pairs must be decoded before the HMAC):
# Zoho's form webhooks carry a few fields; the escapes bound the percent-decoding work.
MAX_FORM_FIELDS = 100
MAX_FORM_ESCAPES = 32_000
# Zoho module API names: ASCII letters, digits and underscores, starting with a letter.
MODULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
OPERATION = re.compile(r"[a-z_]{1,20}")
MILLISECONDS_AFTER = 10**11  # a t= larger than this is in milliseconds (Zoho Payments sends ms)
UNAUTHENTICATED = "webhook signature or secret missing or wrong"


async def read_body(request: Request, limit: int, within: float) -> bytes:
    """The raw body: 413 once it exceeds ``limit`` bytes, 408 unless it arrives ``within`` s."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RejectedError(413, f"request body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RejectedError(413, f"request body larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RejectedError(408, f"request body not received within {within:g}s") from None
    return b"".join(chunks)


def _is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _same(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality of two texts (any str, lone surrogates included)."""
    if isinstance(given, str):
        given = given.encode("utf-8", "surrogatepass")
    if isinstance(expected, str):
        expected = expected.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(given, expected)


def _digests_match(secret: bytes, message: bytes, signature: str) -> bool:
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    given = signature.strip()
    return _same(given.lower(), digest.hex()) or _same(given, base64.b64encode(digest))


# ---------------------------------------------------------------------- Books / Inventory
def books_precheck(secret: str, headers: Any, query: list[tuple[str, str]]) -> bool:
    """Before the body is read: True when a signature is to be verified over it.

    False when a secret token (header, bearer or query parameter) already authenticated the call;
    401 when neither a signature nor a right token came (or no secret is configured).
    """
    if not secret:
        raise RejectedError(401, UNAUTHENTICATED)
    if headers.get(SIGNATURE_HEADER):
        return True  # a wrong signature is never rescued by a right token
    supplied = [headers.get(h, "") for h in TOKEN_HEADERS]
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        supplied.append(credentials.strip())
    supplied += [v for k, v in query if k in TOKEN_PARAMS]
    if any(v and _same(v, secret) for v in supplied):
        return False
    raise RejectedError(401, UNAUTHENTICATED)


def _billing_message(query: list[tuple[str, str]], body: bytes, content_type: str) -> bytes | None:
    """Zoho Billing's reading: sorted ``key+value`` of query (and form) pairs, then a JSON body.

    None when a form is beyond the bounds (its pairs are not decoded at all).
    """
    pairs = list(query)
    if not _is_form(content_type):
        return "".join(k + v for k, v in sorted(pairs)).encode("utf-8", "surrogatepass") + body
    if body.count(b"%") > MAX_FORM_ESCAPES:
        return None
    try:
        pairs += parse_qsl(
            body.decode(errors="replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:  # more than MAX_FORM_FIELDS fields
        return None
    return "".join(k + v for k, v in sorted(pairs)).encode("utf-8", "surrogatepass")


def books_verify(  # noqa: PLR0913 - what was received, and the clock's tolerance
    secret: str,
    signature: str,
    query: list[tuple[str, str]],
    body: bytes,
    content_type: str,
    *,
    tolerance: float,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """Verify ``signature`` over the received call; return the query pairs it covers (401 if not).

    Cheapest readings first: ``t=,v=`` and the raw body need one HMAC; the Billing reading of a
    form needs its pairs decoded, within bounds.
    """
    key = secret.encode("utf-8", "surrogatepass")
    parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
    if "t" in parts and "v" in parts:
        stamp = parts["t"].strip()
        if not stamp.isdigit() or len(stamp) > 20:  # noqa: PLR2004 - far beyond any epoch
            raise RejectedError(401, UNAUTHENTICATED)
        seconds = int(stamp) / 1000 if int(stamp) > MILLISECONDS_AFTER else int(stamp)
        if abs((time.time() if now is None else now) - seconds) > tolerance:
            raise RejectedError(401, "webhook signature timestamp outside the allowed window")
        if _digests_match(key, stamp.encode() + b"." + body, parts["v"]):
            return []
        raise RejectedError(401, UNAUTHENTICATED)
    if _digests_match(key, body, signature):
        return []
    billing = _billing_message(query, body, content_type)
    if billing is not None and _digests_match(key, billing, signature):
        return list(query)
    raise RejectedError(401, UNAUTHENTICATED)


def books_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The webhook's entity JSON (default payload, raw JSON or form fields); 400 otherwise."""
    if not _is_form(content_type):
        return json_object(body, "webhook body")
    if not body.strip():
        raise RejectedError(400, "empty webhook body")
    try:
        pairs = parse_qsl(
            body.decode(errors="replace"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS
        )
    except ValueError:
        raise RejectedError(400, f"webhook form has more than {MAX_FORM_FIELDS} fields") from None
    form = dict(pairs)
    embedded = form.get("JSONString") or form.get("payload")
    if embedded:
        return json_object(embedded.encode("utf-8", "surrogatepass"), "form field JSONString")
    return form


def books_resources(
    data: dict[str, Any], signed_query: list[tuple[str, str]]
) -> frozenset[str] | None:
    """Finance resources a webhook is about; None (read all) when its signed content is silent."""
    hints = [k.lower() for k in data]
    for key in ("entity", "module", "event_type", "resource"):
        value = data.get(key)
        if isinstance(value, str):
            hints.append(value.lower().split(".", 1)[0])
    hints += [v.lower() for k, v in signed_query if k in {"entity", "module"}]
    found = {BOOKS_ENTITIES[h] for h in hints if h in BOOKS_ENTITIES}
    return frozenset(found) or None


def delivery_digest(route: str, signed_query: list[tuple[str, str]], body: bytes) -> str:
    """What makes two deliveries identical: the route and the content that authenticated them."""
    digest = hashlib.sha256(route.encode() + b"\n")
    for key, value in sorted(signed_query):
        digest.update(f"{key}={value}&".encode("utf-8", "surrogatepass"))
    digest.update(b"\n" + body)
    return digest.hexdigest()[:32]


# ---------------------------------------------------------------------- CRM notifications
def crm_notification(body: bytes) -> dict[str, Any]:
    """A CRM Notification API callback body; 401 without a token, 400 when it is not one."""
    if b'"token"' not in body:  # cannot authenticate: refused before it is decoded
        raise RejectedError(401, "notification token missing or wrong")
    return json_object(body, "notification body")


def crm_channel_id(data: dict[str, Any]) -> str:
    """The callback's ``channel_id`` (a number or a digit string), or ``""``."""
    value = data.get("channel_id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    text = str(value).strip()
    return text if text.isdigit() and len(text) <= 20 else ""  # noqa: PLR2004 - a long's digits


def crm_token_valid(data: dict[str, Any], expected: list[str]) -> bool:
    """Whether the callback's ``token`` is one the service handed to Zoho."""
    token = data.get("token")
    if not isinstance(token, str) or not token:
        return False
    return any(e and _same(token, e) for e in expected)


def module_name(value: Any, what: str = "module") -> str:
    """``value`` as a CRM module API name; 400 when it cannot be one."""
    if isinstance(value, str) and MODULE_NAME.fullmatch(value.strip()):
        return value.strip()
    raise RejectedError(400, f"{what} is not a CRM module API name")


def crm_module(data: dict[str, Any], channel_modules: list[str]) -> str:
    """The module a callback names (``module``, else ``resource_uri``, else its channel's)."""
    module = data.get("module")
    if isinstance(module, dict):
        module = module.get("api_name")
    if isinstance(module, str) and module.strip():
        return module_name(module, "the notification's module")
    uri = data.get("resource_uri")
    if isinstance(uri, str) and uri.rstrip("/"):
        return module_name(uri.rstrip("/").rsplit("/", 1)[-1], "the notification's resource_uri")
    if len(channel_modules) == 1:
        return channel_modules[0]
    raise RejectedError(400, "notification names no module (module or resource_uri)")


def crm_operation(data: dict[str, Any]) -> str:
    """The callback's ``operation`` (``insert``, ``update``, ``delete``), else ``change``."""
    value = data.get("operation")
    return value if isinstance(value, str) and OPERATION.fullmatch(value) else "change"


# ---------------------------------------------------------------------- JSON
def json_value(body: bytes, what: str) -> Any:
    """``body`` parsed as JSON; 400 naming ``what`` when it is not (undecodable, too deep)."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise RejectedError(400, f"{what} is not JSON (or nested too deeply)") from None


def json_object(body: bytes, what: str) -> dict[str, Any]:
    """``body`` parsed as a JSON object; 400 naming ``what`` otherwise."""
    if not body.strip():
        raise RejectedError(400, f"empty {what}")
    data = json_value(body, what)
    if not isinstance(data, dict):
        raise RejectedError(400, f"{what} must be a JSON object")
    return data
