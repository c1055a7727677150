"""tap-zoho, the top of the house: settings, discovery, the run summary and the command line.

The tap builds one :class:`~tap_zoho.run_context.RunContext` per run and hands it to every stream
it discovers (CRM modules, Books and Inventory); the run's start and end (credit budget, summary,
closing what was opened) wrap the SDK's sync in :meth:`TapZoho.run_sync`.
"""

from __future__ import annotations

import sys
import typing as t
from functools import cached_property

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from typing_extensions import override

from .crm.discovery import crm_streams
from .crm.reference import reference_streams
from .errors import ModuleUnavailableError, ZohoError
from .finance.products import finance_streams
from .run_context import RunContext
from .sdk.message_writer import BufferedRecordWriter
from .sdk.parallel import ParallelTap
from .sdk.stream import ZohoStream

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk.streams import Stream

    from .summary import RunSummary


ORG_IDS = th.CustomType(
    {
        "anyOf": [
            {"type": "string"},
            {"type": "integer"},
            {"type": "array", "items": {"type": ["string", "integer"]}},
        ]
    }
)


class TapZoho(ParallelTap):
    """Singer tap for Zoho CRM, Books and Inventory: typed, incremental, with deletions."""

    name = "tap-zoho"
    message_writer_class = BufferedRecordWriter
    _built_streams: tuple[ZohoStream, ...] = ()  # closed at exit (:meth:`close`)

    config_jsonschema = th.PropertiesList(
        th.Property(
            "client_id",
            th.StringType,
            required=True,
            description="Client ID of the Zoho self client (API console).",
        ),
        th.Property(
            "client_secret",
            th.StringType,
            required=True,
            secret=True,
            description="Client secret of the Zoho self client.",
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            required=True,
            secret=True,
            description="Refresh token generated once for the self client.",
        ),
        th.Property(
            "api_domain",
            th.StringType,
            default="https://www.zohoapis.com",
            description="Zoho API domain of your data centre (https://www.zohoapis.eu, "
            ".in, .com.au, .jp, .com.cn, .ca, .sa), or any base URL such as a proxy or the "
            "offline sandbox.",
        ),
        th.Property(
            "accounts_domain",
            th.StringType,
            description="Zoho Accounts server issuing tokens. Default: derived from "
            "api_domain (https://accounts.zohocloud.ca for Canada).",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Only records modified at or after this instant on the first run.",
        ),
        th.Property(
            "crm_modules",
            th.ArrayType(th.StringType),
            description="CRM module API names to read (e.g. Leads, Price_Books). Default: "
            "every module the API can read.",
        ),
        th.Property(
            "crm_bulk_read_min_records",
            th.IntegerType(minimum=0),
            default=10_000,
            description="A module's first full sync goes through Bulk Read when it holds at "
            "least this many records (far fewer API credits); 0 turns Bulk Read off.",
        ),
        th.Property(
            "max_api_credits",
            th.IntegerType(minimum=1),
            description="Stop reading once this run has spent this many Zoho CRM API credits "
            "(documented costs: 1 a call, 50 a Bulk Read job); the next run continues.",
        ),
        th.Property(
            "min_remaining_credits",
            th.IntegerType(minimum=0),
            description="Stop reading when Zoho reports fewer remaining credits than this "
            "(X-API-CREDITS-REMAINING, sent once half of the day's credits are used).",
        ),
        th.Property(
            "max_parallel_modules",
            th.IntegerType(minimum=1),
            default=4,
            description="CRM modules read at the same time.",
        ),
        th.Property(
            "max_concurrent_calls",
            th.IntegerType(minimum=1),
            default=5,
            description="API calls in flight at once, all modules together (Zoho allows 5 on "
            "Free, 10 Standard, 15 Professional, 20 Enterprise, 25 Ultimate).",
        ),
        th.Property(
            "crm_reference_data",
            th.BooleanType,
            default=True,
            description="Also read the CRM's reference data: crm-users, crm-roles, crm-profiles, "
            "crm-territories, crm-currencies, crm-org, crm-pipelines and crm-pipeline_stages "
            "(about 8 API credits a run plus one per Deals layout; each stream can be deselected).",
        ),
        th.Property(
            "crm_include_deleted",
            th.BooleanType,
            default=True,
            description="Emit deleted CRM records with _sdc_deleted_at set.",
        ),
        th.Property(
            "crm_detail_reads",
            th.BooleanType,
            default=True,
            description="Complete the values Zoho's record lists leave out or cut: subforms and "
            "line items, multi-select and multi-user lookups, rich text of 500 characters or more. "
            "By the cheapest route Zoho documents: their subform and linking modules (listed, or "
            "exported beside a Bulk Read backfill), the Rich Text API; one single-record read per "
            "record only where no cheaper route is available. false: records keep what lists "
            "return.",
        ),
        th.Property(
            "crm_detail_reads_max_per_run",
            th.IntegerType(minimum=0),
            default=10_000,
            description="At most this many reads of one record at a time per run (single-record "
            "and Rich Text API reads, one credit each; listing or exporting subform and linking "
            "modules does not count). Past it records keep their list values, with a warning and "
            "a count in the run summary, and later runs complete them.",
        ),
        th.Property(
            "token_throttle_max_wait_seconds",
            th.NumberType(minimum=0),
            default=600,
            description="When Zoho throttles a token refresh mid-run (Access Denied), keep "
            "retrying with backoff for up to this long. A refusal of the run's first token "
            "fails at once.",
        ),
        th.Property(
            "strict_modules",
            th.BooleanType,
            default=False,
            description="Exit non-zero when any module is skipped, even one the user did "
            "not name (no permission, not API-supported).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=200),
            default=200,
            description="Records per Get Records call (Zoho maximum 200).",
        ),
        th.Property(
            "fields_per_request",
            th.IntegerType(minimum=1, maximum=50),
            default=50,
            description="Fields per Get Records call (Zoho maximum 50); wider modules are "
            "read in several field groups and merged by id.",
        ),
        th.Property(
            "request_timeout",
            th.NumberType(minimum=1),
            default=60,
            description="Seconds before an HTTP request is abandoned and retried.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=8,
            description="Retries on 429, 5xx and connection errors before a module fails.",
        ),
        th.Property(
            "retry_backoff_seconds",
            th.NumberType(minimum=0),
            default=2.0,
            description="First wait between retries; doubles each time, at most 60 s.",
        ),
        th.Property(
            "state_checkpoint_records",
            th.IntegerType(minimum=1),
            default=1000,
            description="Inside a module, write a resumable STATE at least every this many "
            "records (a killed run resumes from the last one).",
        ),
        th.Property(
            "state_checkpoint_seconds",
            th.IntegerType(minimum=0),
            default=10,
            description="Inside a module, also write a resumable STATE at least every this "
            "many seconds (0: by records only).",
        ),
        th.Property(
            "bookmark_lag_seconds",
            th.IntegerType(minimum=0),
            default=5,
            description="How many seconds behind Zoho's clock (its Date header) a Modified_Time "
            "second must be before the bookmark may move past it; newer records are emitted and "
            "read again by the next run.",
        ),
        th.Property(
            "progress_interval_seconds",
            th.NumberType(minimum=0),
            default=30,
            description="Seconds between progress lines per module.",
        ),
        th.Property("user_agent", th.StringType, description="User-Agent header to send."),
        th.Property(
            "crm_enabled",
            th.BooleanType,
            default=True,
            description="Read Zoho CRM modules. Turn off for a Books/Inventory-only account.",
        ),
        th.Property(
            "books_organization_id",
            ORG_IDS,
            description="Zoho Books organisation id (or a list of ids); setting it "
            "enables books_items, books_contacts and books_pricebooks.",
        ),
        th.Property(
            "inventory_organization_id",
            ORG_IDS,
            description="Zoho Inventory organisation id (or a list of ids); setting it "
            "enables inventory_items, inventory_contacts and inventory_pricebooks.",
        ),
        th.Property(
            "items_active_only",
            th.BooleanType,
            default=False,
            description="Read active items only (filtered by Zoho); items that turn "
            "inactive are still emitted, as inactive, so targets can deactivate them.",
        ),
        th.Property(
            "items_reconcile_deletions",
            th.BooleanType,
            description="Tell targets which items were deleted in Zoho (Books keeps no "
            "deletion feed): after a complete listing of every item, records carry its version "
            "and ACTIVATE_VERSION follows. Unset: on when the run lists every item anyway (no "
            "bookmark, no start_date: first run, full refresh), at no extra cost. true: every "
            "run, an incremental one listing all items after its changes (about one call per "
            "200 items per organisation). false: never.",
        ),
        th.Property(
            "finance_requests_per_minute",
            th.IntegerType(minimum=1),
            default=90,
            description="Pace Books/Inventory calls per organisation (Zoho allows 100).",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Validate the settings that JSON Schema cannot express."""
        super().__init__(*args, **kwargs)
        domain = str(self.config.get("api_domain") or "")
        if not domain.startswith(("http://", "https://")) and "." not in domain:
            msg = "Invalid settings"
            raise ConfigValidationError(msg, errors=[f"api_domain is not a URL: {domain!r}"])

    @cached_property
    def run_context(self) -> RunContext:
        """The services every stream of this run shares (token, session, budgets, summary)."""
        return RunContext(self.config, self, self.logger)

    @property
    def summary(self) -> RunSummary:
        """What this run synced and what it skipped; logged when the run ends."""
        return self.run_context.summary

    @override
    def discover_streams(self) -> list[Stream]:
        """CRM modules and reference data, then Books and Inventory streams of the organisations."""
        run = self.run_context
        finance = finance_streams(self, run, self.config)
        streams: list[Stream] = []
        if self.config.get("crm_enabled", True):
            try:
                modules = crm_streams(self, run)
            except ModuleUnavailableError as exc:
                if not finance:
                    raise
                self.logger.warning("Skipping Zoho CRM (%s); reading Books/Inventory only.", exc)
            else:
                streams += modules
                if self.config.get("crm_reference_data", True):
                    deals = next((m.module for m in modules if m.module.api_name == "Deals"), None)
                    streams += reference_streams(self, run, deals.field_meta if deals else None)
        streams += finance
        self._built_streams += tuple(s for s in streams if isinstance(s, ZohoStream))
        return streams

    @override
    def run_sync(self, sync: Callable[[], None]) -> None:
        """Sync every selected stream, then log the summary and fail if a module failed."""
        run = self.run_context
        run.credit_budget.enforcing = True
        try:
            sync()
        finally:
            self.close()
        summary = self.summary
        summary.credits_used = run.credit_budget.used
        self.logger.info("Sync summary: %s", summary.to_json())
        if not summary.success:
            failed = ", ".join(str(m["module"]) for m in summary.failed_modules)
            msg = f"modules failed: {failed} (see the sync summary above)"
            raise ZohoError(msg)

    @override
    def run_discovery(self) -> str:
        """Write the catalog, then close what discovery opened."""
        try:
            return super().run_discovery()
        finally:
            self.close()

    def close(self) -> None:
        """Close every session and worker pool this run opened (streams, HTTP, token client)."""
        for stream in self._built_streams:
            stream.close()
        self.run_context.close()


def main() -> None:
    """Console entry point: any tap error ends as one line on stderr and exit code 1."""
    try:
        TapZoho.cli()
    except ZohoError as exc:
        sys.stderr.write(f"tap-zoho: error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
