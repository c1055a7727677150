"""`make demo`: Zoho CRM (offline sandbox) -> tap-zoho -> target-clickhouse (embedded chDB).

Starts the sandbox in its own process, runs `tap-zoho | target-clickhouse` (full sync), edits,
creates and deletes some sandbox records, runs the pipe again with the saved state, prints a
short report (tables, row counts, records per run, a query through a `_current` view), and stops
the sandbox. Everything lands in `output/demo/` (the ClickHouse data in `output/demo/clickhouse`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "output" / "demo"
BIN = Path(sys.executable).parent
CLICKHOUSE = OUT / "clickhouse"


def start_sandbox() -> tuple[subprocess.Popen, str]:
    """Run `python -m tests.zoho_sandbox` and read its URL."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.zoho_sandbox", "--config-out", str(OUT / "tap.json")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None  # noqa: S101
    return proc, proc.stdout.readline().strip()


def run_pipe(name: str, state: Path | None) -> tuple[Counter, float]:
    """`tap-zoho | target-clickhouse`; return records read per stream and seconds taken."""
    tap_args = [str(BIN / "tap-zoho"), "--config", str(OUT / "tap.json")]
    if state is not None and state.exists():
        tap_args += ["--state", str(state)]
    started = time.monotonic()
    singer_file = OUT / f"{name}.singer.jsonl"
    with singer_file.open("w") as out, (OUT / f"{name}.tap.log").open("w") as log:
        subprocess.run(tap_args, stdout=out, stderr=log, check=True)  # noqa: S603
    with (
        singer_file.open() as stdin,
        (OUT / "state.json").open("w") as state_out,
        (OUT / f"{name}.target.log").open("w") as log,
    ):
        subprocess.run(  # noqa: S603
            [str(BIN / "target-clickhouse"), "--config", str(OUT / "target.json")],
            stdin=stdin,
            stdout=state_out,
            stderr=log,
            check=True,
        )
    lines = (OUT / "state.json").read_text().strip().splitlines()
    (OUT / "state.json").write_text(lines[-1] if lines else "{}")
    counts: Counter = Counter()
    with singer_file.open() as messages:
        for line in messages:
            message = json.loads(line)
            if message["type"] == "RECORD":
                deleted = bool(message["record"].get("_sdc_deleted_at"))
                counts[(message["stream"], "deleted" if deleted else "upserted")] += 1
    return counts, time.monotonic() - started


def mutate(url: str) -> str:
    """Edit three leads, create one, delete one; return a one-line description."""
    leads = sorted(
        requests.get(f"{url}/__sandbox__/records", params={"module": "Leads"}, timeout=30).json()
    )
    for rid in leads[:3]:
        requests.post(
            f"{url}/__sandbox__/update",
            timeout=30,
            json={"module": "Leads", "id": rid, "changes": {"Lead_Status": "Qualified"}},
        )
    requests.post(
        f"{url}/__sandbox__/create",
        timeout=30,
        json={"module": "Leads", "values": {"Last_Name": "Demo newcomer"}},
    )
    requests.post(f"{url}/__sandbox__/delete", timeout=30, json={"module": "Leads", "id": leads[5]})
    return "3 leads edited, 1 lead created, 1 lead deleted"


def report_run(title: str, counts: Counter, seconds: float) -> None:
    """Print records read per stream for one run."""
    print(f"\n{title} ({seconds:.1f}s)")
    streams = sorted({stream for stream, _ in counts})
    for stream in streams:
        print(
            f"  {stream:<20} upserted {counts[(stream, 'upserted')]:>6,}"
            f"   deleted {counts[(stream, 'deleted')]:>4,}"
        )
    if not streams:
        print("  (no records)")


QUERY = r"""
import sys, clickhouse_connect
client = clickhouse_connect.get_client(interface="chdb", path=sys.argv[1])
tables = [t for (t,) in client.query(
    "SELECT name FROM system.tables WHERE database = 'default' AND engine LIKE '%MergeTree' "
    "ORDER BY name").result_rows]
print("\nClickHouse tables (rows in the _current view / rows stored before merges):")
for table in tables:
    live = client.query(f"SELECT count() FROM `{table}_current`").result_rows[0][0]
    stored = client.query(f"SELECT count() FROM `{table}`").result_rows[0][0]
    print(f"  {table:<24} {live:>6,} / {stored:>6,}")
print("\nSELECT id, Last_Name, Lead_Status, Modified_Time FROM zoho_leads_current\n"
      "ORDER BY Modified_Time DESC LIMIT 5")
for row in client.query("SELECT id, Last_Name, Lead_Status, Modified_Time FROM zoho_leads_current "
                        "ORDER BY Modified_Time DESC LIMIT 5").result_rows:
    print("  ", row)
"""


def main() -> None:
    """Run the demo end to end."""
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    (OUT / "target.json").write_text(json.dumps({"path": str(CLICKHOUSE), "table_prefix": "zoho_"}))
    proc, url = start_sandbox()
    try:
        print(f"Zoho sandbox at {url}; ClickHouse (embedded) in {CLICKHOUSE.relative_to(REPO)}")
        full, seconds = run_pipe("full", None)
        report_run("Full sync: tap-zoho | target-clickhouse", full, seconds)
        print(f"\nChanging the sandbox: {mutate(url)}")
        incremental, seconds = run_pipe("incremental", OUT / "state.json")
        report_run("Incremental sync (with the saved state)", incremental, seconds)
        subprocess.run([sys.executable, "-c", QUERY, str(CLICKHOUSE)], check=True)  # noqa: S603
        print(f"\nSinger messages, logs and state: {OUT.relative_to(REPO)}/")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
