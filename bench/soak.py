"""Soak: kill-and-resume cycles with edits racing the runs, CRM → ClickHouse and Books → ERP.

    .venv/bin/python bench/soak.py [--cycles 20] [--seed N] [--only crm|erp]

Starts the offline Zoho sandbox (in this process) and a throwaway PostgreSQL server, then per
cycle and family: edits the sandbox (edits, inserts, deletes, Lead conversions, approvals
entered and left, mass updates of more than a page in one second, Books item, contact and
price-list edits and item deletions), runs the real CLIs ``tap-zoho | target-clickhouse`` (chDB
in a temporary directory) and ``tap-zoho | target-tsh-postgres`` (the products job) with
1-second flushes and 1,000-row batches, keeps editing while they read, SIGKILLs the tap or the
target at a seeded random moment and resumes the next cycle from the last STATE the target
printed. After the cycles one complete incremental run per family, then the destinations are
compared with the sandbox: missing, extra, stale and deleted-but-visible rows, converted, under
approval and inactive records counted on their own, and the share of kills taken after the first
seconds of a run that kept progress. Exit code 0 when the acceptance of issue 9 holds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))

from tests.support.soak.driver import Options, interrupted_cleanly, run_soak  # noqa: E402


def main() -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=defaults.cycles)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--only", choices=["crm", "erp"])
    parser.add_argument("--kill-min", type=float, default=defaults.kill_min)
    parser.add_argument("--kill-max", type=float, default=defaults.kill_max)
    parser.add_argument(
        "--warmup",
        type=float,
        default=defaults.warmup,
        help="kills at least this many seconds into a run should keep progress",
    )
    parser.add_argument("--scale", type=float, default=defaults.scale, help="CRM world size")
    parser.add_argument("--crm-latency", type=float, default=defaults.crm_latency)
    parser.add_argument("--books-delay", type=float, default=defaults.books_delay)
    parser.add_argument(
        "--books-import", type=int, default=defaults.books_import, help="items of one import"
    )
    args = parser.parse_args()
    options = Options(
        cycles=args.cycles,
        seed=args.seed,
        only=args.only,
        kill_min=args.kill_min,
        kill_max=args.kill_max,
        warmup=args.warmup,
        scale=args.scale,
        crm_latency=args.crm_latency,
        books_delay=args.books_delay,
        books_import=args.books_import,
    )
    with interrupted_cleanly():
        report = run_soak(options, lambda line: print(line, flush=True))
    return 0 if report.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
