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
from .reference_options import ReferenceOptions
from .seed import default_specs, detail_module_spec, wide_module_spec
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

    specs = [wide_module_spec(*_shape(m)) for m in args.module]
    for text in args.detail_module:
        name, records = text.split(":")
        specs.append(detail_module_spec(name, int(records)))
    specs = specs or default_specs(args.scale)
    sandbox = Sandbox(
        specs=specs, zone=args.zone, token_ttl=args.token_ttl, bulk=bulk, reference=reference
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


if __name__ == "__main__":
    sys.exit(main())
