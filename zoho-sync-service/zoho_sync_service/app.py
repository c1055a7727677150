"""HTTP routes: webhook intake, the legacy sync endpoints, run history and channels.

Webhooks are answered as soon as their trigger is stored (work happens afterwards); legacy
endpoints wait for the run they started, as the legacy services did, and answer its counts.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import intake, legacy
from .service import Kind, SyncService, outcome_of

if TYPE_CHECKING:
    from .instance import InstanceLock
    from .settings import Settings

LOG = logging.getLogger("zoho_sync_service.app")
Handler = Callable[[Request], Awaitable[JSONResponse]]
VERSION = metadata.version("zoho-sync-service")


def _service(request: Request) -> SyncService:
    service: SyncService = request.app.state.service
    return service


def _refuse(error: intake.RejectedError) -> JSONResponse:
    return JSONResponse({"success": False, "error": error.message}, status_code=error.status)


def _guarded(handler: Handler) -> Handler:
    """Answer :class:`intake.RejectedError` with its status and one line."""

    async def wrapped(request: Request) -> JSONResponse:
        try:
            return await handler(request)
        except intake.RejectedError as error:
            if error.status in {401, 408, 413}:
                LOG.warning("%s %s refused: %s", request.method, request.url.path, error.message)
            return _refuse(error)

    return wrapped


def _bearer(request: Request) -> None:
    """Legacy and service endpoints need ``Authorization: Bearer $ZOHO_SYNC_SERVICE_TOKEN``."""
    expected = _service(request).settings.token
    if not expected:
        raise intake.RejectedError(401, "ZOHO_SYNC_SERVICE_TOKEN is not set on the service")
    scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        supplied.strip().encode(), expected.encode()
    ):
        raise intake.RejectedError(401, "missing or wrong bearer token")


async def _read(request: Request) -> bytes:
    settings = _service(request).settings
    return await intake.read_body(request, settings.max_body_bytes, settings.body_timeout_seconds)


async def _json_body(request: Request) -> Any:
    body = await _read(request)
    if not body.strip():
        return None
    return intake.json_value(body, "request body")


# ---------------------------------------------------------------------- webhooks
def _accepted(service: SyncService, kind: Kind, *, duplicate: bool = False) -> JSONResponse:
    status = "duplicate" if duplicate else "accepted"
    return JSONResponse({"status": status, "job": service.jobs[kind].name})


async def books_webhook(request: Request) -> JSONResponse:
    """Zoho Books/Inventory workflow webhook: authenticate, store the trigger, answer.

    Refused before the body is read when no signature or right secret came; the signature is
    checked before the body is decoded; only what it covers decides what is synced.
    """
    service = _service(request)
    settings = service.settings
    query = list(request.query_params.multi_items())
    signed = intake.books_precheck(settings.webhook_secret, request.headers, query)
    body = await _read(request)
    signed_query: list[tuple[str, str]] = []
    content_type = request.headers.get("content-type", "")
    if signed:
        signed_query = intake.books_verify(
            settings.webhook_secret,
            request.headers[intake.SIGNATURE_HEADER],
            query,
            body,
            content_type,
            tolerance=settings.signature_tolerance_seconds,
        )
    delivery = intake.delivery_digest("books", signed_query, body)
    if service.replays.seen(delivery):
        return _accepted(service, "finance", duplicate=True)
    data = intake.books_payload(body, content_type)
    resources = intake.books_resources(data, signed_query)
    label = ",".join(sorted(resources)) if resources else "all"
    service.trigger("finance", f"books webhook: {label}", resources, delivery=delivery)
    return _accepted(service, "finance")


async def crm_notification(request: Request) -> JSONResponse:
    """CRM Notification API callback: check the channel token, store the trigger, answer."""
    service = _service(request)
    body = await _read(request)
    data = intake.crm_notification(body)
    channel_id = intake.crm_channel_id(data)
    channel = service.history.channel(channel_id) if channel_id else None
    if not intake.crm_token_valid(data, service.callback_tokens(channel)):
        raise intake.RejectedError(401, "notification token missing or wrong")
    delivery = intake.delivery_digest("crm", [], body)
    if service.replays.seen(delivery):
        return _accepted(service, "crm", duplicate=True)
    module = intake.crm_module(data, channel.modules if channel else [])
    watched = channel.modules if channel else service.watched_modules()
    if module not in watched:
        where = f"channel {channel.channel_id}" if channel else "the CRM job (crm_modules)"
        raise intake.RejectedError(400, f"{module} is not among the modules of {where}")
    operation = intake.crm_operation(data)
    service.trigger(
        "crm", f"crm notification: {module}.{operation}", frozenset({module}), delivery=delivery
    )
    return _accepted(service, "crm")


# ---------------------------------------------------------------------- legacy CRM service
async def health(request: Request) -> JSONResponse:
    """``GET /health``: open to monitors (status only); the details need the bearer token."""
    service = _service(request)
    problems = service.health()
    answer = {
        "status": "degraded" if problems else "healthy",
        "service": "zoho-sync-service",
        "version": VERSION,
    }
    if "authorization" not in request.headers:
        return JSONResponse(answer)
    _bearer(request)
    details = {"problems": problems, "tasks": service.supervisor.status(), **_jobs(service)}
    return JSONResponse({**answer, **details})


def _jobs(service: SyncService) -> dict[str, Any]:
    return {"jobs": service.status()}


async def _crm_sync(request: Request, *, full: bool) -> JSONResponse:
    _bearer(request)
    try:
        selection = legacy.crm_selection(await _json_body(request))
    except intake.RejectedError as error:
        return JSONResponse(legacy.crm_answer(None, error.message), status_code=error.status)
    service = _service(request)
    path = request.url.path
    waiter = service.trigger(
        "crm", f"legacy {path}", selection, {"full_refresh": full}, urgent=True, wait=True
    )
    if waiter is None:
        answer = legacy.crm_answer(None, "none of selected_modules is read by the CRM job")
        return JSONResponse(answer, status_code=400)
    answer = legacy.crm_answer(outcome_of(await waiter))
    return JSONResponse(answer, status_code=200 if answer["success"] else 500)


async def sync_full(request: Request) -> JSONResponse:
    """``POST /sync/full``: a full-refresh run of the CRM job."""
    return await _crm_sync(request, full=True)


async def sync_incremental(request: Request) -> JSONResponse:
    """``POST /sync/incremental``: an incremental run of the CRM job."""
    return await _crm_sync(request, full=False)


# ---------------------------------------------------------------------- legacy ERP bulk sync
def _bulk(operation: legacy.BulkOperation) -> Handler:
    async def handler(request: Request) -> JSONResponse:
        _bearer(request)
        options = legacy.bulk_options(await _json_body(request))
        service = _service(request)
        waiter = service.trigger(
            "finance",
            f"legacy bulk-sync/{operation.name}",
            operation.resources,
            options,
            urgent=True,
            wait=True,
        )
        if waiter is None:  # pragma: no cover - finance selections are never narrowed away
            raise intake.RejectedError(400, "nothing to sync")
        answer = legacy.bulk_answer(operation, outcome_of(await waiter))
        return JSONResponse(answer, status_code=200 if answer["success"] else 500)

    handler.__name__ = f"bulk_{operation.name.replace('-', '_')}"
    return handler


async def bulk_status(request: Request) -> JSONResponse:
    """``GET /api/zoho/bulk-sync/status``."""
    _bearer(request)
    service = _service(request)
    return JSONResponse({**legacy.STATUS, **_jobs(service)})


# ---------------------------------------------------------------------- service endpoints
async def runs(request: Request) -> JSONResponse:
    """``GET /runs[?job=NAME&limit=N]``: the run history, newest first."""
    _bearer(request)
    job = request.query_params.get("job") or None
    try:
        limit = min(500, max(1, int(request.query_params.get("limit", "50"))))
    except ValueError:
        raise intake.RejectedError(400, "limit must be a whole number") from None
    return JSONResponse({"runs": _service(request).history.runs(job, limit)})


async def channels(request: Request) -> JSONResponse:
    """``GET /channels``: the CRM notification channels the service keeps alive."""
    _bearer(request)
    items = [c.as_dict() for c in _service(request).history.channels()]
    return JSONResponse({"channels": items})


def create_app(settings: Settings, lock: InstanceLock | None = None) -> Starlette:
    """The ASGI application; the service starts and stops with it (``lock``: already claimed)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = SyncService(settings, lock)
        app.state.service = service
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        # Books lets a webhook use POST, PUT or DELETE; all three mean "this entity changed".
        Route("/webhooks/books", _guarded(books_webhook), methods=["POST", "PUT", "DELETE"]),
        Route("/webhooks/crm", _guarded(crm_notification), methods=["POST"]),
        Route("/health", _guarded(health), methods=["GET"]),
        Route("/sync/full", _guarded(sync_full), methods=["POST"]),
        Route("/sync/incremental", _guarded(sync_incremental), methods=["POST"]),
        *(
            Route(f"/api/zoho/bulk-sync/{name}", _guarded(_bulk(op)), methods=["POST"])
            for name, op in legacy.BULK_OPERATIONS.items()
        ),
        Route("/api/zoho/bulk-sync/status", _guarded(bulk_status), methods=["GET"]),
        Route("/runs", _guarded(runs), methods=["GET"]),
        Route("/channels", _guarded(channels), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
