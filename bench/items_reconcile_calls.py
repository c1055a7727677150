"""Books list calls of ``items_reconcile_deletions`` per run, against ceil(items / 200).

    .venv/bin/python bench/items_reconcile_calls.py [--items 10000]

For one organisation of ``--items`` items (a few hundred of them sharing one second, as an import
leaves them), prints the ``GET /items`` calls of a full refresh, of an incremental run with
nothing changed (setting unset, and ``true``), and of one with ``items_active_only``; the ratio
column is the calls against ceil(items / 200), what a plain listing costs.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.tap import run_tap  # noqa: E402
from tests.zoho_sandbox import BOOKS_ORG, Sandbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    sandbox = Sandbox(specs=[])
    sandbox.start()
    sandbox.finance.window_seconds = 0.001  # the benchmark counts calls, it does not wait them
    try:
        finance = sandbox.finance
        org = finance.orgs[BOOKS_ORG]
        start = finance.clock.advance()
        for n in range(args.items - len(org.items)):
            epoch = start if n < 300 else start + n  # an import: 300 items in one second
            finance.put_item(org, {"name": f"bulk {n}", "status": "active"}, epoch=epoch)
        total = len(org.items)
        active = sum(1 for r in org.items.values() if r["status"] == "active")
        config = sandbox.tap_config(
            crm_enabled=False,
            books_organization_id=BOOKS_ORG,
            finance_requests_per_minute=10**6,
        )

        def calls(
            extra: dict[str, object], state: dict[str, object] | None = None
        ) -> tuple[int, dict[str, object]]:
            before = len(finance.queries)
            run = run_tap({**config, **extra}, state=state)
            assert run.error is None, run.error
            used = [q for p, q in finance.queries[before:] if p == "/books/v3/items"]
            return len(used), run.state

        plain = math.ceil(total / 200)
        print(f"GET /books/v3/items calls, {total:,} items ({active:,} active), one organisation")
        print(f"{'run':<58}{'calls':>7}{'ratio':>8}")
        full, state = calls({})
        rows = [("full refresh, setting unset (reconciles)", full, plain)]
        rows.append(("full refresh, false", calls({"items_reconcile_deletions": False})[0], plain))
        unset = calls({}, state)[0]
        rows.append(("incremental, nothing changed, unset (no reconciliation)", unset, 1))
        asked, _ = calls({"items_reconcile_deletions": True}, state)
        rows.append(("incremental, nothing changed, true (reconciles)", asked, plain))
        _, active_state = calls({"items_active_only": True})
        asked_active, _ = calls(
            {"items_active_only": True, "items_reconcile_deletions": True}, active_state
        )
        rows.append(("incremental, true, items_active_only", asked_active, math.ceil(active / 200)))
        for label, used, base in rows:
            print(f"{label:<58}{used:>7}{used / base:>8.2f}")
        print(f"ceil(items / 200) = {plain}; active items: {math.ceil(active / 200)}")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
