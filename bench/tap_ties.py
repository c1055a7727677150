"""Benchmark: what re-reading tie seconds costs (issue 9.1), in API calls and seconds.

    python bench/tap_ties.py [--records 2000] [--page-size 200] [--again 150]

An incremental CRM run after every record of a module was updated, three ways:
  * spread: each record updated in its own second (the baseline: no tie second),
  * one second: all of them in one second (a mass update), paged by overlapping pages,
  * re-edited: the same, with ``--again`` already-read records edited again while the tap pages
    through that second (they leave it, the rest shift back by position).
For each: Get Records calls, seconds, records emitted, and records left stale (must be 0), with
the calls as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import ModuleSpec

MODULE = "Mass_X"


def measure(records: int, page_size: int, mode: str, again: int) -> tuple[int, float, int, int]:
    sandbox = Sandbox(specs=[ModuleSpec(MODULE, records, [("Name", "text")], [])])
    sandbox.start()
    try:
        config = sandbox.tap_config(crm_include_deleted=False, page_size=page_size)
        first = run_tap(config)
        ids = sorted(sandbox.records(MODULE), key=int)
        if mode != "spread":
            sandbox.store.clock.pin()
        for rid in ids:
            sandbox.update(MODULE, rid, {"Name": "mass"})
        sandbox.store.clock.unpin()
        if mode == "re-edited":

            def edit_again() -> None:
                for rid in ids[:again]:
                    sandbox.update(MODULE, rid, {"Name": "again"})

            sandbox.on_path_call(f"/crm/v8/{MODULE}", 4, edit_again)
        before = sandbox.stats.requests["records"]
        started = time.perf_counter()
        run = run_tap(config, state=first.state)
        seconds = time.perf_counter() - started
        calls = sandbox.stats.requests["records"] - before
        latest = {r["id"]: r["Name"] for r in run.records[MODULE.lower()]}
        final = sandbox.records(MODULE)
        stale = sum(1 for rid, row in final.items() if latest.get(rid) != row["Name"])
    finally:
        sandbox.stop()
    return calls, seconds, len(run.records[MODULE.lower()]), stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--again", type=int, default=150)
    args = parser.parse_args()
    baseline = None
    print(f"{args.records} records, page_size {args.page_size}")
    print(f"{'case':<12} {'calls':>6} {'x base':>7} {'seconds':>8} {'emitted':>8} {'stale':>6}")
    for mode in ("spread", "one second", "re-edited"):
        calls, seconds, emitted, stale = measure(args.records, args.page_size, mode, args.again)
        baseline = baseline or calls
        print(
            f"{mode:<12} {calls:>6} {calls / baseline:>7.2f} {seconds:>8.2f} {emitted:>8} {stale:>6}"
        )


if __name__ == "__main__":
    main()
