"""The legacy services' request fields and JSON answers (``shared/seeds/000`` and ``003``).

The CRM service answered ``{success, synced_modules, failed_modules, total_records, errors}``; the
ERP bulk sync answered ``{success, message, stats: {total_processed, successful, failed, skipped,
errors}, duration_seconds}``. Both are filled from the run that served the call: tap-zoho's
``Sync summary`` and target-tsh-postgres's report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import RejectedError
from .intake import module_name

if TYPE_CHECKING:
    from .runner import RunOutcome

# Keys that carry credentials (the legacy bodies sent them under "zoho" and "clickhouse"), at any
# depth, compared case-insensitively with "-" read as "_".
CREDENTIAL_KEYS = frozenset(
    {
        "zoho",
        "clickhouse",
        "postgres",
        "credentials",
        "refresh_token",
        "access_token",
        "client_id",
        "client_secret",
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "authorization",
    }
)
CREDENTIALS_REFUSED = (
    "Credentials in the request body are refused: configure them in the service's environment "
    "(TAP_ZOHO_CLIENT_ID, TAP_ZOHO_CLIENT_SECRET, TAP_ZOHO_REFRESH_TOKEN, TAP_ZOHO_API_DOMAIN; "
    "TARGET_CLICKHOUSE_HOST, TARGET_CLICKHOUSE_USERNAME, TARGET_CLICKHOUSE_PASSWORD, ...) or with "
    "`meltano config`, and send only selected_modules."
)
MAX_BATCH_SIZE = 100_000
MAX_MODULES = 500  # selected_modules (an organisation has a few hundred at most)


@dataclass(frozen=True)
class BulkOperation:
    """One ``/api/zoho/bulk-sync/<name>`` endpoint."""

    name: str
    label: str
    resources: frozenset[str] | None
    tables: tuple[str, ...]


BULK_OPERATIONS = {
    "products": BulkOperation("products", "Products", frozenset({"items"}), ("products",)),
    "customers": BulkOperation("customers", "Customers", frozenset({"contacts"}), ("customers",)),
    "pricelists": BulkOperation(
        "pricelists", "Price lists", frozenset({"pricebooks"}), ("product_prices",)
    ),
    "sync-all": BulkOperation("sync-all", "Full", None, ()),
}
STATUS = {
    "service": "Zoho Bulk Sync",
    "status": "healthy",
    "available_operations": [
        "POST /api/zoho/bulk-sync/products",
        "POST /api/zoho/bulk-sync/customers",
        "POST /api/zoho/bulk-sync/pricelists",
        "POST /api/zoho/bulk-sync/sync-all",
    ],
    "features": [
        "Pagination support",
        "Incremental sync",
        "Batch processing",
        "Automatic deduplication",
        "Error handling with retry",
    ],
}


def refuse_credentials(body: Any) -> None:
    """400 with :data:`CREDENTIALS_REFUSED` when any key at any depth names a credential."""
    todo = [body]
    while todo:  # iterative: a body may nest as deep as the JSON parser allowed
        value = todo.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if str(key).strip().lower().replace("-", "_") in CREDENTIAL_KEYS:
                    raise RejectedError(400, CREDENTIALS_REFUSED)
                todo.append(item)
        elif isinstance(value, list):
            todo.extend(value)


def crm_selection(body: Any) -> frozenset[str] | None:
    """``selected_modules`` of a ``/sync/*`` body; refuses credentials and bad values (400)."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise RejectedError(400, "request body must be a JSON object")
    refuse_credentials(body)
    modules = body.get("selected_modules")
    if modules is None:
        return None
    if not isinstance(modules, list) or len(modules) > MAX_MODULES:
        raise RejectedError(
            400, f"selected_modules must be a list of at most {MAX_MODULES} CRM module API names"
        )
    return frozenset(module_name(m, "an entry of selected_modules") for m in modules) or None


def crm_answer(outcome: RunOutcome | None, error: str | None = None) -> dict[str, Any]:
    """The legacy CRM report of a run (or of a refused call)."""
    if outcome is None:
        return {
            "success": False,
            "synced_modules": [],
            "failed_modules": [],
            "total_records": 0,
            "errors": [error or "no run"],
        }
    summary = outcome.tap_summary or {}
    synced = [
        {"module": m.get("module"), "record_count": int(m.get("record_count") or 0)}
        for m in summary.get("synced_modules") or []
    ]
    failed = [
        {"module": m.get("module"), "error": m.get("error")}
        for m in summary.get("failed_modules") or []
    ]
    errors = [str(e) for e in summary.get("errors") or []]
    if not outcome.succeeded:
        errors += [e for e in outcome.errors if e not in errors]
    return {
        "success": outcome.succeeded and bool(summary.get("success", True)),
        "synced_modules": synced,
        "failed_modules": failed,
        "total_records": sum(m["record_count"] for m in synced),
        "errors": errors,
    }


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:  # noqa: FBT001
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise RejectedError(400, f"{name} must be true or false")
    return value


def bulk_options(body: Any) -> dict[str, Any]:
    """Run options from a bulk-sync body (the legacy defaults when a field is absent)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise RejectedError(400, "request body must be a JSON object")
    refuse_credentials(body)
    batch_size = body.get("batch_size", 100)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise RejectedError(400, "batch_size must be a whole number")
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise RejectedError(400, f"batch_size must be between 1 and {MAX_BATCH_SIZE}")
    options = {
        "full_refresh": not _flag(body, "incremental", default=False),
        "active_only": _flag(body, "active_only", default=True),
        "with_stock_only": _flag(body, "with_stock_only", default=False),
        "sync_images": _flag(body, "sync_images", default=True),
        "batch_size": batch_size,
    }
    if "reconcile_deletions" in body:  # absent: the tap's own setting (on for a full refresh)
        options["reconcile_deletions"] = _flag(body, "reconcile_deletions", default=False)
    return options


def _stats(report: dict[str, Any], tables: tuple[str, ...], duration: float) -> dict[str, Any]:
    keys = ("total_processed", "successful", "failed", "skipped")
    per_table = report.get("tables") or {}
    if tables:
        counts = {k: sum(int((per_table.get(t) or {}).get(k, 0)) for t in tables) for k in keys}
        errors = [e for e in report.get("errors") or [] if e.get("table") in tables]
    else:
        counts = {k: int(report.get(k) or 0) for k in keys}
        errors = list(report.get("errors") or [])
    return {**counts, "errors": errors, "duration_seconds": round(duration, 2)}


def bulk_answer(operation: BulkOperation, outcome: RunOutcome) -> dict[str, Any]:
    """The legacy bulk-sync answer of a run."""
    report = outcome.erp_report or {}
    stats = _stats(report, operation.tables, outcome.duration)
    if not outcome.succeeded:
        stats["errors"] = [*stats["errors"], *outcome.errors]
    # As the legacy job: rows the ERP refused are counted in stats, the sync still succeeded.
    success = outcome.succeeded
    if success:
        message = f"{operation.label} bulk sync completed successfully"
    else:
        first = outcome.errors[0] if outcome.errors else "the run failed"
        message = f"{operation.label} bulk sync failed: {first}"
    answer: dict[str, Any] = {
        "success": success,
        "message": message,
        "stats": stats,
        "duration_seconds": stats["duration_seconds"],
    }
    if not operation.tables:
        answer["results"] = {
            op.name: _stats(report, op.tables, outcome.duration)
            for op in BULK_OPERATIONS.values()
            if op.tables
        }
    return answer
