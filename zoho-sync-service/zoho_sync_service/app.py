"""HTTP routes: webhook intake, the legacy sync endpoints, run history and channels.

Webhooks are answered as soon as their trigger is stored (work happens afterwards); legacy
endpoints wait for the run they started, as the legacy services did, and answer its counts.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import intake, legacy
from .service import SyncService, outcome_of

if TYPE_CHECKING:
    from .settings import Settings

LOG = logging.getLogger("zoho_sync_service.app")
Handler = Callable[[Request], Awaitable[JSONResponse]]


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
            if error.status in {401, 413}:
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


async def _json_body(request: Request) -> Any:
    body = await intake.read_body(request, _service(request).settings.max_body_bytes)
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise intake.RejectedError(400, "request body is not JSON") from None


# ---------------------------------------------------------------------- webhooks
async def books_webhook(request: Request) -> JSONResponse:
    """Zoho Books/Inventory workflow webhook: authenticate, store the trigger, answer."""
    service = _service(request)
    body = await intake.read_body(request, service.settings.max_body_bytes)
    query = list(request.query_params.multi_items())
    if not intake.books_authentic(service.settings.webhook_secret, request.headers, query, body):
        raise intake.RejectedError(401, "webhook signature or secret missing or wrong")
    data = intake.books_payload(body, request.headers.get("content-type", ""))
    resources = intake.books_resources(data, query)
    label = ",".join(sorted(resources)) if resources else "all"
    service.trigger("finance", f"books webhook: {label}", resources)
    return JSONResponse({"status": "accepted", "job": service.jobs["finance"].name})


async def crm_notification(request: Request) -> JSONResponse:
    """CRM Notification API callback: check the channel token, store the trigger, answer."""
    service = _service(request)
    body = await intake.read_body(request, service.settings.max_body_bytes)
    data = intake.crm_notification(body)
    channel = service.history.channel(str(data.get("channel_id", "")))
    expected = [service.settings.channel_token, channel.token if channel else ""]
    if not intake.crm_token_valid(data, expected):
        raise intake.RejectedError(401, "notification token missing or wrong")
    module = intake.crm_module(data, channel.modules if channel else [])
    if channel and module not in channel.modules:
        raise intake.RejectedError(400, f"channel {channel.channel_id} does not watch {module}")
    operation = str(data.get("operation") or "change")
    service.trigger("crm", f"crm notification: {module}.{operation}", frozenset({module}))
    return JSONResponse({"status": "accepted", "job": service.jobs["crm"].name})


# ---------------------------------------------------------------------- legacy CRM service
async def health(request: Request) -> JSONResponse:
    """``GET /health``."""
    _bearer(request)
    service = _service(request)
    return JSONResponse({"status": "healthy", "service": "zoho-sync-service", **_jobs(service)})


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


def create_app(settings: Settings) -> Starlette:
    """The ASGI application; the service starts and stops with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service = SyncService(settings)
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
