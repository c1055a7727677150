"""Run the sandbox as its own process: ``python -m tests.zoho_sandbox [--port N] [--scale F]``.

Prints the base URL on the first line of standard output (and, with ``--config-out``, writes a
tap-zoho config file pointing at it), then serves until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path

from .bulk_read import BulkOptions
from .crm_api import Limits
from .reference_options import ReferenceOptions
from .seed import completion_specs, default_specs, detail_module_spec, wide_module_spec
from .server import Sandbox


def _shape(text: str) -> tuple[str, int, int]:
    name, fields, records = text.split(":")
    return name, int(fields), int(records)


def main(argv: list[str] | None = None) -> int:
    """Start, announce the URL, serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m tests.zoho_sandbox")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: ephemeral)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply seeded record counts")
    parser.add_argument("--zone", default="Asia/Kolkata", help="time zone of the API user")
    parser.add_argument("--config-out", type=Path, help="write a tap-zoho config JSON here")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each API call")
    parser.add_argument("--token-ttl", type=int, default=3600, help="access-token lifetime (s)")
    parser.add_argument(
        "--mints-per-window",
        type=int,
        default=10,
        help="access tokens one refresh token may mint per 10 minutes (Zoho: 10)",
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="NAME:FIELDS:RECORDS",
        help="serve only generated custom modules of this shape (repeatable)",
    )
    parser.add_argument("--bulk-delay", type=float, default=2.0, help="seconds to COMPLETED")
    parser.add_argument("--bulk-page-size", type=int, default=200_000, help="rows per export")
    parser.add_argument(
        "--bulk-hide-converted",
        action="store_true",
        help="Bulk Read leaves converted and unapproved records out",
    )
    parser.add_argument(
        "--detail-module",
        action="append",
        default=[],
        metavar="NAME:RECORDS",
        help="also serve a Quotes-like module with line items and rich text (repeatable)",
    )
    parser.add_argument(
        "--complete-world",
        metavar="LEADS:QUOTES",
        help="serve only Leads (subform, multi lookups, rich text) and Quotes (line items)",
    )
    parser.add_argument(
        "--subform-pairs", action="store_true", help="every --complete-world Lead has 2 rows"
    )
    _completion_readings(parser)
    parser.add_argument("--territories-off", action="store_true", help="400 FEATURE_NOT_ENABLED")
    parser.add_argument(
        "--multi-currency-off", action="store_true", help="403 CURRENCIES_NOT_ENABLED"
    )
    parser.add_argument(
        "--deny-scope",
        action="append",
        default=[],
        metavar="SCOPE",
        help="withhold ZohoCRM.<SCOPE> (users, org, settings.roles, ...) from the token",
    )
    parser.add_argument(
        "--settings-read-grants-pipeline",
        action="store_true",
        help="ZohoCRM.settings.READ also grants the pipeline API (unconfirmed)",
    )
    parser.add_argument(
        "--all-users-include-deleted",
        action="store_true",
        help="type=AllUsers lists deleted users too (unconfirmed)",
    )
    args = parser.parse_args(argv)
    reference = ReferenceOptions(
        territories_enabled=not args.territories_off,
        multi_currency=not args.multi_currency_off,
        settings_read_grants_pipeline=args.settings_read_grants_pipeline,
        all_users_include_deleted=args.all_users_include_deleted,
    )
    bulk = BulkOptions(args.bulk_delay, args.bulk_page_size, args.bulk_hide_converted)
    bulk.dotted_lookups = args.bulk_dotted_lookups
    bulk.rich_text_chars = 500 if args.bulk_cut_rich_text else None

    specs = [wide_module_spec(*_shape(m)) for m in args.module]
    for text in args.detail_module:
        name, records = text.split(":")
        specs.append(detail_module_spec(name, int(records)))
    if args.complete_world:
        leads, quotes = (int(n) for n in args.complete_world.split(":"))
        specs += completion_specs(leads, quotes, subform_pairs=args.subform_pairs)
    specs = specs or default_specs(args.scale)
    limits = Limits(
        subform_modules=None
        if args.subform_modules == "all"
        else frozenset(name for name in args.subform_modules.split(",") if name),
        list_subform_modules=args.list_subform_modules,
        list_multiuser_linking=not args.hide_multiuser_linking,
        subform_list_filters=args.subform_list_filters,
        subform_page_tokens=not args.no_subform_page_tokens,
        detail_row_order=args.detail_row_order,
        rich_text_api=not args.no_rich_text_api,
        refused_modules=frozenset(args.refuse_module),
    )
    sandbox = Sandbox(
        specs=specs,
        zone=args.zone,
        token_ttl=args.token_ttl,
        bulk=bulk,
        limits=limits,
        reference=reference,
    )
    for scope in args.deny_scope:
        sandbox.deny_scope(scope)
    sandbox.faults.latency_seconds = args.latency
    sandbox.accounts.mints_per_window = args.mints_per_window
    url = sandbox.start(args.port)
    if args.config_out:
        args.config_out.write_text(json.dumps(sandbox.tap_config(), indent=2))
    print(url, flush=True)  # noqa: T201 - the URL is this program's output
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    sandbox.stop()
    return 0


def _completion_readings(parser: argparse.ArgumentParser) -> None:
    """Readings of what contract 3.3 leaves unconfirmed (each default is the stricter one)."""
    parser.add_argument(
        "--list-subform-modules",
        action="store_true",
        help="/settings/modules lists subform modules (default: only reachable by name)",
    )
    parser.add_argument(
        "--subform-modules",
        default="Lead_Items,Quoted_Items",
        help="subform modules the Subform API serves (comma list, or 'all')",
    )
    parser.add_argument(
        "--subform-list-filters",
        action="store_true",
        help="the Subform API honours If-Modified-Since, sort, ids, converted/approved",
    )
    parser.add_argument(
        "--no-subform-page-tokens",
        action="store_true",
        help="the Subform API offers no page token past 2,000 rows",
    )
    parser.add_argument(
        "--detail-row-order",
        choices=("sequence", "id"),
        default="sequence",
        help="a single-record read holds subform rows by Sequence_Number (default) or by id",
    )
    parser.add_argument(
        "--hide-multiuser-linking",
        action="store_true",
        help="/settings/modules leaves the linking modules of multi-user lookups out",
    )
    parser.add_argument(
        "--no-rich-text-api", action="store_true", help="v8 has no actions/fetch_full_data"
    )
    parser.add_argument(
        "--refuse-module",
        action="append",
        default=[],
        metavar="NAME",
        help="answer INVALID_MODULE for this module's records (repeatable)",
    )
    parser.add_argument(
        "--bulk-dotted-lookups",
        action="store_true",
        help="exports of subform/linking modules head lookup columns X.id",
    )
    parser.add_argument(
        "--bulk-cut-rich-text", action="store_true", help="exports cut rich text at 500"
    )


if __name__ == "__main__":
    sys.exit(main())
