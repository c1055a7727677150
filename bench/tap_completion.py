"""Benchmark: what completing the values lists leave out costs, route by route (contract 3.3).

    python bench/tap_completion.py [--parents 10000] [--export-parents 50000]
    python bench/tap_completion.py --memory 25000,50000
    python bench/tap_completion.py --acceptance

Routes (``--only complete`` of bench/tap_crm.py runs the first two parts):

* **Routes**: a first full sync of Leads with a subform, a multi-select and a multi-user lookup and
  rich text (the sandbox's ``--complete-world``), by each route: one single-record read per
  record (the routes refused: ``--refuse-module``), the subform and linking modules listed, and
  a Bulk Read backfill exporting them beside the parent's job (at ``--export-parents``, where the
  jobs cost fewer credits than listing). API calls and credits per 10,000 parents, beside the
  contract's floor for the data (tests/support/completion_floor.py) and the rich-text reads in it
  (records whose rich text a list may have cut: one read each on every route).
* **Memory**: peak RSS of the tap process backfilling Leads with two subform rows each at two
  sizes (exported beside the parent's job, spooled to disk, joined a batch at a time).
* **Acceptance** (issue 18): 20,000 Leads + 3,000 Quotes with the tap's defaults, then 50 Leads
  edited and an incremental run; 50,000 Leads backfilled with ``crm_detail_reads: false``; 2,600
  Leads x 74 fields with completion off. Calls and credits against the floor.

The sandbox runs in this process (its stats and store give the floor and the expected values);
the tap is a real subprocess writing Singer messages to a file.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.completion_floor import (  # noqa: E402
    Floor,
    module_floor,
    pages,
    rich_text_reads,
)
from tests.zoho_sandbox import Limits, Sandbox  # noqa: E402
from tests.zoho_sandbox.bulk_read import BulkOptions  # noqa: E402
from tests.zoho_sandbox.seed import (  # noqa: E402
    ALL_TYPES,
    LEADS_STANDARD,
    ModuleSpec,
    completion_specs,
)

TAP = Path(sys.executable).with_name("tap-zoho")
# The tap's peak RSS, measured from a small parent: a child spawned straight from this process
# (which holds the sandbox's data) would report this process's size as its own peak (the memory
# it shares until exec counts in ru_maxrss).
PEAK_RSS = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
LEADS_SOURCES = frozenset({"Lead_Items", "Leads_X_Contacts", "Leads_X_Users"})
WIDE = ALL_TYPES + ALL_TYPES[:12]  # Leads of every data type: 74 fields


def start(specs: list[ModuleSpec], limits: Limits | None = None) -> Sandbox:
    sandbox = Sandbox(specs=specs, limits=limits, bulk=BulkOptions(delay_seconds=1))
    sandbox.accounts.mints_per_window = 1000  # a benchmark mints a token per tap run
    sandbox.start()
    return sandbox


def run_tap(sandbox: Sandbox, state: dict | None = None, **settings) -> dict:
    """One tap run: calls, credits, seconds, peak RSS (MiB), summary, records and final state."""
    workdir = Path(tempfile.mkdtemp())
    config = sandbox.tap_config(
        progress_interval_seconds=3600,
        crm_detail_reads_max_per_run=10_000_000,
        crm_reference_data=False,  # about 8 calls a run of their own, not part of these figures
        **settings,
    )
    (workdir / "config.json").write_text(json.dumps(config))
    args = [str(TAP), "--config", str(workdir / "config.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        args += ["--state", str(workdir / "state.json")]
    calls, spent = sandbox.stats.api_calls, sandbox.stats.credits
    started = time.perf_counter()
    peak_file = workdir / "peak"
    with open(workdir / "out.jsonl", "w") as out, open(workdir / "err.txt", "w") as err:
        status = subprocess.call(
            [sys.executable, "-c", PEAK_RSS, str(peak_file), *args], stdout=out, stderr=err
        )
    seconds = time.perf_counter() - started
    text = (workdir / "err.txt").read_text()
    if status:
        raise SystemExit(f"tap-zoho failed: {text[-2000:]}")
    records: dict[str, dict[str, dict]] = {}
    last_state = None
    with open(workdir / "out.jsonl") as out:
        for line in out:
            message = json.loads(line)
            if message["type"] == "RECORD" and not message["record"].get("_sdc_deleted_at"):
                records.setdefault(message["stream"], {})[message["record"]["id"]] = message[
                    "record"
                ]
            elif message["type"] == "STATE":
                last_state = message["value"]
    summary = re.search(r"Sync summary: (\{.*\})", text)
    return {
        "calls": sandbox.stats.api_calls - calls,
        "credits": sandbox.stats.credits - spent,
        "seconds": seconds,
        "peak_mib": int(peak_file.read_text()) // 1024,
        "summary": json.loads(summary.group(1)) if summary else {},
        "records": records,
        "state": last_state,
    }


def per_10k(value: float, parents: int) -> str:
    return f"{value * 10_000 / parents:>10,.0f}"


# ---------------------------------------------------------------------- routes
def bench_routes(parents: int, export_parents: int) -> None:
    """Calls and credits per 10,000 parents, by route, beside the floor."""
    print("\nCompleting Leads (subform, multi-select and multi-user lookups, rich text)")
    print(
        f"{'route':<34}{'parents':>9}{'calls/10k':>11}{'credits/10k':>12}"
        f"{'floor calls':>12}{'floor cred.':>12}{'rich text':>11}{'seconds':>9}"
    )
    refused = Limits(refused_modules=LEADS_SOURCES)
    for label, size, limits, settings, bulk in (
        (
            "single-record reads (refused)",
            parents,
            refused,
            {"crm_bulk_read_min_records": 0},
            False,
        ),
        ("subform + linking lists", parents, None, {"crm_bulk_read_min_records": 0}, False),
        ("Bulk Read backfill + exports", export_parents, None, {}, True),
    ):
        sandbox = start(completion_specs(size, 0), limits)
        try:
            result = run_tap(sandbox, crm_modules=["Leads"], crm_include_deleted=False, **settings)
            floor = module_floor(sandbox, "Leads", bulk=bulk)
            rich = rich_text_reads(sandbox, "Leads")
        finally:
            sandbox.stop()
        routes = {line["values"]: line["route"] for line in result["summary"].get("completion", [])}
        print(
            f"{label:<34}{size:>9,}{per_10k(result['calls'], size)}"
            f"{per_10k(result['credits'], size):>12}{per_10k(floor.calls, size):>12}"
            f"{per_10k(floor.credits, size):>12}{per_10k(rich, size):>11}{result['seconds']:>9.1f}"
        )
        print(f"{'':<34}routes: {json.dumps(routes)}")


# ---------------------------------------------------------------------- memory
def bench_memory(sizes: list[int]) -> None:
    """Peak RSS of a backfill completing two subform rows a parent, at two sizes."""
    print("\nBackfill of Leads with 2 subform rows each (+ links), exports spooled to disk")
    print(
        f"{'parents':>9}{'subform rows':>14}{'calls':>7}{'credits':>9}{'seconds':>9}{'peak MiB':>10}"
    )
    peaks = []
    for size in sizes:
        sandbox = start(completion_specs(size, 0, subform_pairs=True))
        try:
            rows = len(sandbox.store.modules["Lead_Items"].records)
            result = run_tap(sandbox, crm_modules=["Leads"], crm_include_deleted=False)
            assert len(result["records"]["leads"]) == len(sandbox.records("Leads"))
        finally:
            sandbox.stop()
        peaks.append(result["peak_mib"])
        print(
            f"{size:>9,}{rows:>14,}{result['calls']:>7,}{result['credits']:>9,}"
            f"{result['seconds']:>9.1f}{result['peak_mib']:>10,}"
        )
    if len(peaks) > 1:
        print(f"peak memory {sizes[-1]:,} / {sizes[0]:,} parents: {peaks[-1] / peaks[0]:.2f}x")


# ---------------------------------------------------------------------- acceptance
def whole(sandbox: Sandbox, module: str, got: dict[str, dict], *, exported: bool) -> int:
    """Records whose values differ from the store (as a backfill delivers them, if exported)."""
    bad = 0
    meta = sandbox.store.modules[module]
    hidden = {r for r in meta.records if not meta.listed(r, converted="false", approved="true")}
    for rid, record in sandbox.records(module).items():
        mine = got.get(rid)
        if mine is None:
            bad += 1
            continue
        expected = record if not exported else bulk_form(sandbox, module, record, rid in hidden)
        if mine != expected:
            bad += 1
    return bad


def id_only(value):
    return {"id": value["id"]} if isinstance(value, dict) and "id" in value else value


def bulk_form(sandbox: Sandbox, module: str, record: dict, hidden: bool) -> dict:  # noqa: FBT001
    """A record as a backfill that exported its modules delivers it (lookups by id)."""
    views = {view.field: view for view in sandbox.store.views_of(module)}
    out = {}
    for meta in sandbox.store.modules[module].fields:
        value = record.get(meta.api_name)
        view = views.get(meta.api_name)
        if view is not None:
            value = [nested(view, row) for row in value]
        elif hidden:
            pass
        elif meta.data_type in {"lookup", "ownerlookup", "userlookup"} and value is not None:
            value = id_only(value)
        elif meta.json_type == "jsonarray" and meta.data_type == "text":  # Tag
            value = [{"name": tag["name"]} for tag in value] or None
        out[meta.api_name] = None if value == "" else value
    out["id"] = record["id"]
    return out


def nested(view, row: dict) -> dict:
    if view.kind == "subform":
        return {
            **row,
            "Parent_Id": id_only(row["Parent_Id"]),
            "Unit_Price": float(row["Unit_Price"]),
        }
    return {view.lookup: id_only(row[view.lookup]), "id": row["id"]}


def bench_acceptance(*, first: bool = True) -> None:
    print("\nAcceptance (issue 18)")
    if first:
        bench_first_and_incremental()
    bench_plain()


def bench_first_and_incremental() -> None:
    sandbox = start(completion_specs(20_000, 3_000))
    try:
        first = run_tap(sandbox, crm_modules=["Leads", "Quotes"])
        floor = module_floor(sandbox, "Leads", bulk=True) + module_floor(sandbox, "Quotes")
        bad = whole(sandbox, "Leads", first["records"]["leads"], exported=True) + whole(
            sandbox, "Quotes", first["records"]["quotes"], exported=False
        )
        report("first sync 20,000 Leads + 3,000 Quotes", first, floor, bad)
        for line in first["summary"].get("completion", []):
            print(f"    {line['module']}/{line['values']}: {line['route']} ({line['reason']})")
        leads = sorted(sandbox.records("Leads"), key=int)[:50]
        for n, rid in enumerate(leads):
            sandbox.update(
                "Leads",
                rid,
                {
                    "Subform_1": [{"Item": f"edited {n}", "Qty": n, "Unit_Price": 2.5}],
                    "Multiselectlookup_2": [
                        {"Contacts_Link": {"name": f"C {n}", "id": str(5843104000000709000 + n)}}
                    ],
                    "Multiuserlookup_3": [],
                },
            )
        second = run_tap(sandbox, state=first["state"], crm_modules=["Leads", "Quotes"])
        got = second["records"].get("leads", {})
        stale = sum(1 for rid in leads if got.get(rid) != sandbox.records("Leads")[rid])
        print(
            f"  incremental after 50 edited Leads: {second['calls']} calls, {second['credits']} "
            f"credits, {len(got)} Leads emitted, {stale} not whole"
        )
    finally:
        sandbox.stop()


def bench_plain() -> None:

    wide = ModuleSpec("Leads", 50_000, LEADS_STANDARD, WIDE, unapproved_every=40)
    sandbox = start([wide])
    try:
        result = run_tap(
            sandbox, crm_modules=["Leads"], crm_detail_reads=False, crm_include_deleted=False
        )
        fields = sandbox.store.modules["Leads"].fields
        fill = [
            f
            for f in fields
            if f.data_type in {"fileupload", "imageupload", "linetax", "multireminder"}
        ]
        budget = 40 + pages(50_000, len(fill))
        print(
            f"  50,000-Lead backfill, crm_detail_reads false: {result['calls']} calls "
            f"(limit 40 + {pages(50_000, len(fill))} pages = {budget}), {result['credits']} credits"
        )
    finally:
        sandbox.stop()

    spec = ModuleSpec("Leads", 2600, LEADS_STANDARD, WIDE, unapproved_every=40)
    sandbox = start([spec])
    try:
        result = run_tap(
            sandbox, crm_modules=["Leads"], crm_detail_reads=False, crm_include_deleted=False
        )
        print(
            f"  2,600 Leads x 74 fields, crm_detail_reads false: {result['calls']} calls (limit 31)"
        )
    finally:
        sandbox.stop()


def report(label: str, result: dict, floor: Floor, bad: int) -> None:
    calls_limit = math.floor(1.25 * floor.calls + 20)
    credits_limit = math.floor(1.25 * floor.credits + 20)
    print(
        f"  {label}: {result['calls']:,} calls (floor {floor.calls:,}, limit {calls_limit:,}), "
        f"{result['credits']:,} credits (floor {floor.credits:,}, limit {credits_limit:,}), "
        f"{result['seconds']:.0f} s, peak {result['peak_mib']} MiB, {bad} records not whole"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, default=10_000)
    parser.add_argument("--export-parents", type=int, default=50_000)
    parser.add_argument("--memory", default="25000,50000", help="parents at two sizes")
    parser.add_argument("--acceptance", action="store_true", help="the issue's acceptance runs")
    parser.add_argument(
        "--skip-first", action="store_true", help="acceptance without the 20,000-Lead sync"
    )
    parser.add_argument("--skip-routes", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not args.skip_routes:
        bench_routes(args.parents, args.export_parents)
    if not args.skip_memory:
        bench_memory([int(n) for n in args.memory.split(",")])
    if args.acceptance:
        bench_acceptance(first=not args.skip_first)


if __name__ == "__main__":
    main()
