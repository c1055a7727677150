"""Benchmark: tap-zoho extracting CRM modules from the sandbox, against a raw HTTP baseline.

    python bench/tap_crm.py [--records 10000]

The sandbox runs in its own process. For modules of 40, 60 and 120 fields it measures
  * records/s of `tap-zoho` (a real subprocess writing Singer messages to /dev/null), for the
    whole process and for the module read alone ("reading": no start-up, token or discovery),
  * records/s of the raw baseline in this script: the same Get Records calls made with
    `requests`, JSON parsed and re-serialised, nothing else (the practical upper bound),
  * API calls and credits per 10,000 records, beside the floor ceil(n/200) * ceil(fields/50),
at zero latency and with 100 ms added to every API call.

Then, for a Quotes-like module whose lists leave values out (line items, rich text: every record
needs a single-record read), the cost of ``crm_detail_reads`` per 10,000 records: API calls,
credits and wall time with the setting on and off (``--detail-records``, ``--only-details``).

    python bench/tap_crm.py --only bulk-read [--bulk-sizes 50000:72,50000:24,250000:24]
    python bench/tap_crm.py --only parallel
    python bench/tap_crm.py --only complete [--complete-parents 10000]

The first compares a module's first full sync by Bulk Read and by Get Records (API calls,
credits, seconds, peak memory of the tap process, records emitted); the second times a 12-module
full sync at 100 ms a call with one module at a time and with four side by side. The third
(bench/tap_completion.py) prints, per 10,000 parents, the calls and credits of completing what
lists leave out by each route (single-record reads, subform and linking lists, Bulk Read exports)
beside the contract's floor, then a backfill's peak memory at two sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
TAP = Path(sys.executable).with_name("tap-zoho")


def start_sandbox(
    modules: list[str], config_path: Path, detail_modules: list[str] = ()
) -> tuple[subprocess.Popen, str]:
    """The sandbox in its own process; a detail module's line items take single-record reads
    (its subform module is refused, so the per-record cost is measured)."""
    # Every tap run mints one access token and a benchmark runs a dozen within ten minutes:
    # Zoho's 10 mints per 10 minutes (tested on its own) would refuse the eleventh.
    args = [sys.executable, "-m", "tests.zoho_sandbox", "--config-out", str(config_path)]
    args += ["--mints-per-window", "1000"]
    for module in modules:
        args += ["--module", module]
    for module in detail_modules:
        args += ["--detail-module", module]
    if detail_modules:
        args += ["--refuse-module", "Quoted_Items"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url


def control(url: str, action: str, body: dict | None = None) -> dict:
    if body is None:
        return requests.get(f"{url}/__sandbox__/{action}", timeout=30).json()
    return requests.post(f"{url}/__sandbox__/{action}", json=body, timeout=30).json()


def run_tap(config: dict, module: str, **settings) -> tuple[float, float]:
    """Run tap-zoho on one module: (seconds for the whole process, seconds reading the module).

    The second figure comes from the tap's own "N records read in Xs" line: it leaves out
    interpreter start-up, the token and discovery.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(
            {
                **config,
                "crm_modules": [module],
                "crm_include_deleted": False,
                "progress_interval_seconds": 3600,
                **settings,
            },
            handle,
        )
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        result = subprocess.run(
            [str(TAP), "--config", handle.name],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"tap-zoho exited {result.returncode} on {module}: {last}")
    whole = time.perf_counter() - started
    reading = re.search(r"records read in ([0-9.]+)s", result.stderr)
    return whole, float(reading.group(1)) if reading else whole


def run_raw(config: dict, module: str, fields: list[str], token: str) -> tuple[float, int]:
    """The baseline: each field group paged with tokens, parsed, merged and re-serialised."""
    started = time.perf_counter()
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
    merged: dict[str, dict] = {}
    for start in range(0, len(fields), 50):
        params = {
            "fields": ",".join(fields[start : start + 50]),
            "per_page": 200,
            "sort_by": "id",
            "sort_order": "asc",
        }
        while True:
            response = session.get(
                f"{config['api_domain']}/crm/v8/{module}", params=params, timeout=60
            )
            if response.status_code == 204:
                break
            body = response.json()
            for row in body["data"]:
                merged.setdefault(row["id"], {}).update(row)
            if not body["info"]["more_records"]:
                break
            params = {k: v for k, v in params.items() if k != "page"}
            params["page_token"] = body["info"]["next_page_token"]
    with open(os.devnull, "w") as sink:
        sink.writelines(
            json.dumps({"type": "RECORD", "stream": module.lower(), "record": record}) + "\n"
            for record in merged.values()
        )
    return time.perf_counter() - started, len(merged)


def run_tap_measured(config: dict) -> tuple[float, int, dict]:
    """Run tap-zoho to /dev/null: (wall seconds, peak RSS in MiB, the sync summary)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"progress_interval_seconds": 3600, **config}, handle)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink, tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen([str(TAP), "--config", handle.name], stdout=sink, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        errors.seek(0)
        text = errors.read()
    if proc.returncode != 0:
        raise SystemExit(text[-3000:])
    summary = re.search(r"Sync summary: (\{.*\})", text)
    return seconds, usage.ru_maxrss // 1024, json.loads(summary.group(1)) if summary else {}


def bench_bulk_read(sizes: list[tuple[int, int]]) -> None:
    """Calls, credits, time and peak memory of a first full sync by Bulk Read and by Get Records."""
    print("\nFirst full sync of one module: Bulk Read vs Get Records (sandbox --bulk-delay 2)")
    print(
        f"{'records':>9}{'fields':>7}  {'path':<12}{'calls':>7}{'credits':>9}{'seconds':>9}"
        f"{'peak MiB':>10}{'records out':>13}"
    )
    peaks: dict[tuple[int, int, str], int] = {}
    for n, width in sizes:
        workdir = Path(tempfile.mkdtemp())
        proc, url = start_sandbox([f"Leads:{width}:{n}"], workdir / "c.json")
        try:
            config = json.loads((workdir / "c.json").read_text())
            for path, minimum in (("Bulk Read", 10_000), ("Get Records", 0)):
                before = control(url, "stats")
                seconds, peak, summary = run_tap_measured(
                    {**config, "crm_modules": ["Leads"], "crm_bulk_read_min_records": minimum}
                )
                after = control(url, "stats")
                calls = after["api_calls"] - before["api_calls"]
                credit_count = after["credits"] - before["credits"]
                out = summary.get("total_records", 0)
                peaks[(n, width, path)] = peak
                print(
                    f"{n:>9,}{width:>7}  {path:<12}{calls:>7,}{credit_count:>9,}{seconds:>9.1f}"
                    f"{peak:>10,}{out:>13,}"
                )
        finally:
            proc.terminate()
            proc.wait()
    large, width = max(sizes)
    small = min(n for n, w in sizes if w == width)
    if small != large:
        ratio = peaks[(large, width, "Bulk Read")] / max(peaks[(small, width, "Bulk Read")], 1)
        print(
            f"peak memory of a Bulk Read backfill, {large:,} / {small:,} records of {width} "
            f"fields: {ratio:.2f}x (target <= 1.5x)"
        )


def bench_parallel(modules: int = 12, records: int = 2000, latency: float = 0.1) -> None:
    """Wall time of a full sync of ``modules`` modules, one at a time and four side by side."""
    shapes = [f"Par{i:02d}_X:20:{records}" for i in range(modules)]
    workdir = Path(tempfile.mkdtemp())
    proc, url = start_sandbox(shapes, workdir / "c.json")
    try:
        config = json.loads((workdir / "c.json").read_text())
        control(url, "latency", {"seconds": latency})
        print(
            f"\n{modules}-module full sync, {records:,} records each, {latency * 1000:.0f} ms a call"
        )
        times = {}
        for parallel in (1, 4):
            seconds, peak, _ = run_tap_measured({**config, "max_parallel_modules": parallel})
            times[parallel] = seconds
            print(f"  max_parallel_modules={parallel}: {seconds:6.1f}s  peak {peak} MiB")
        print(f"  speed-up with 4 side by side: {times[1] / times[4]:.2f}x (target >= 3x)")
    finally:
        proc.terminate()
        proc.wait()


DETAIL_MODULE = "Detail_X"


def detail_reads(url: str, config: dict, n: int) -> None:
    """Calls, credits and seconds per 10,000 records with crm_detail_reads on and off."""
    scale = 10_000 / n
    print(f"\ncrm_detail_reads: {n:,} records of a module with line items and rich text")
    print(
        f"{'latency':>9}{'detail reads':>14}{'calls/10k':>11}{'credits/10k':>13}"
        f"{'seconds/10k':>13}{'reading s/10k':>15}"
    )
    for latency in (0.0, 0.1):
        control(url, "latency", {"seconds": latency})
        for enabled in (False, True):
            before = control(url, "stats")
            whole, reading = run_tap(
                config,
                DETAIL_MODULE,
                crm_detail_reads=enabled,
                crm_detail_reads_max_per_run=10 * n,
            )
            after = control(url, "stats")
            calls = sum(after["requests"].values()) - sum(before["requests"].values())
            credit_count = after["credits"] - before["credits"]
            print(
                f"{latency * 1000:>7.0f}ms{'on' if enabled else 'off':>14}{calls * scale:>11,.0f}"
                f"{credit_count * scale:>13,.0f}{whole * scale:>13,.1f}{reading * scale:>15,.1f}"
            )


def bench_details(records: int) -> None:
    """The detail-read cost alone, on a sandbox serving only the Quotes-like module."""
    workdir = Path(tempfile.mkdtemp())
    proc, url = start_sandbox([], workdir / "c.json", [f"{DETAIL_MODULE}:{records}"])
    try:
        detail_reads(url, json.loads((workdir / "c.json").read_text()), records)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument(
        "--only",
        choices=["get-records", "bulk-read", "parallel", "details", "complete"],
        help="run one part (default: all but complete)",
    )
    parser.add_argument(
        "--complete-parents", type=int, default=10_000, help="Leads for --only complete"
    )
    parser.add_argument(
        "--bulk-sizes",
        default="50000:72,50000:24,250000:24",
        help="RECORDS:FIELDS list for the Bulk Read comparison",
    )
    parser.add_argument("--detail-records", type=int, default=2_000)
    parser.add_argument("--only-details", action="store_true", help="same as --only details")
    args = parser.parse_args()
    if args.only_details:
        args.only = "details"
    if args.only == "details":
        bench_details(args.detail_records)
        return
    if args.only == "complete":  # bench/tap_completion.py: routes, then peak memory
        from tap_completion import bench_memory, bench_routes

        bench_routes(args.complete_parents, max(args.complete_parents, 50_000))
        bench_memory([25_000, 50_000])
        return
    if args.only in {None, "bulk-read"}:
        sizes = [tuple(int(x) for x in pair.split(":")) for pair in args.bulk_sizes.split(",")]
        bench_bulk_read(sizes)  # type: ignore[arg-type]
    if args.only in {None, "parallel"}:
        bench_parallel()
    if args.only not in {None, "get-records"}:
        return
    n = args.records
    shapes = {"Wide40_X": 40, "Wide60_X": 60, "Wide120_X": 120}
    workdir = Path(tempfile.mkdtemp())
    proc, url = start_sandbox(
        [f"{m}:{f}:{n}" for m, f in shapes.items()],
        workdir / "c.json",
        [f"{DETAIL_MODULE}:{args.detail_records}"],
    )
    try:
        config = json.loads((workdir / "c.json").read_text())
        token = requests.post(
            f"{url}/oauth/v2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": config["client_id"],
                "client_secret": config["client_secret"],
                "refresh_token": config["refresh_token"],
            },
            timeout=30,
        ).json()["access_token"]
        auth = {"Authorization": f"Zoho-oauthtoken {token}"}
        print(f"tap-zoho CRM benchmark: {n:,} records per module, sandbox {url}")
        print(
            f"{'module':<11}{'fields':>7}{'latency':>9}{'tap rec/s':>11}{'reading':>9}{'raw rec/s':>11}"
            f"{'tap/raw':>9}{'calls/10k':>11}{'floor/10k':>11}{'credits/10k':>13}"
        )
        for latency in (0.0, 0.1):
            control(url, "latency", {"seconds": latency})
            for module, width in shapes.items():
                fields = [
                    f["api_name"]
                    for f in requests.get(
                        f"{url}/crm/v8/settings/fields",
                        params={"module": module},
                        headers=auth,
                        timeout=30,
                    ).json()["fields"]
                ]
                before = control(url, "stats")
                tap_seconds, read_seconds = run_tap(config, module)
                after = control(url, "stats")
                calls = after["requests"].get("records", 0) - before["requests"].get("records", 0)
                credit_count = after["credits"] - before["credits"]
                raw_seconds, raw_count = run_raw(config, module, fields, token)
                assert raw_count == n, raw_count
                floor = math.ceil(n / 200) * math.ceil(width / 50)
                scale = 10_000 / n
                print(
                    f"{module:<11}{width:>7}{latency * 1000:>7.0f}ms{n / tap_seconds:>11,.0f}"
                    f"{n / read_seconds:>9,.0f}"
                    f"{n / raw_seconds:>11,.0f}{raw_seconds / tap_seconds:>9.2f}"
                    f"{calls * scale:>11,.0f}{floor * scale:>11,.0f}{credit_count * scale:>13,.0f}"
                )
        detail_reads(url, config, args.detail_records)
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
