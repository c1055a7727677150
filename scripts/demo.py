"""`make demo`: `meltano run tap-zoho target-clickhouse` against the offline Zoho sandbox.

Starts the sandbox in its own process, runs the Meltano job into the embedded ClickHouse (a full
sync), edits, creates and deletes some sandbox records, runs it again (incremental, from the state
Meltano kept), prints a short report (tables, row counts, records read per run, a query through a
`_current` view, the versions of the changed leads through `history_mode`'s `_history` view),
and stops the sandbox. Everything lands in `output/demo/`: the ClickHouse data,
Meltano's state database and the logs of both runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "output" / "demo"
MELTANO = REPO / ".venv-meltano" / "bin" / "meltano"
CLICKHOUSE = OUT / "clickhouse"


def start_sandbox(config_out: Path = OUT / "tap.json") -> tuple[subprocess.Popen, str]:
    """Run `python -m tests.zoho_sandbox` (its tap config into ``config_out``); read its URL."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tests.zoho_sandbox", "--config-out", str(config_out)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None  # noqa: S101
    return proc, proc.stdout.readline().strip()


def meltano_env(url: str, out: Path = OUT) -> dict[str, str]:
    """Environment for Meltano: sandbox credentials and URL, state and data under ``out``."""
    config = json.loads((out / "tap.json").read_text())
    return {
        **os.environ,
        "PATH": f"{MELTANO.parent}:{os.environ['PATH']}",
        "MELTANO_ENVIRONMENT": "sandbox",
        "MELTANO_DATABASE_URI": f"sqlite:///{out / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_ZOHO_CLIENT_ID": config["client_id"],
        "TAP_ZOHO_CLIENT_SECRET": config["client_secret"],
        "TAP_ZOHO_REFRESH_TOKEN": config["refresh_token"],
        "TAP_ZOHO_API_DOMAIN": url,
        "TARGET_CLICKHOUSE_PATH": str(CLICKHOUSE),
        "TARGET_CLICKHOUSE_HISTORY_MODE": "true",  # the demo prints a history query
    }


def run_meltano(name: str, env: dict[str, str]) -> tuple[dict, float]:
    """`meltano run tap-zoho target-clickhouse`; return the tap's sync summary and seconds."""
    started = time.monotonic()
    with (OUT / f"{name}.log").open("w") as log:
        subprocess.run(  # noqa: S603
            [str(MELTANO), "run", "tap-zoho", "target-clickhouse"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    summary: dict = {}
    for line in (OUT / f"{name}.log").read_text().splitlines():
        if "Sync summary: " in line:
            summary = json.loads(line.split("Sync summary: ", 1)[1])
    return summary, time.monotonic() - started


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


def report_run(title: str, summary: dict, seconds: float) -> None:
    """Print records read per module and per reference stream for one run."""
    print(f"\n{title} ({seconds:.1f}s)")
    for module in summary.get("synced_modules", []):
        print(
            f"  {module['module']:<20} read {module['record_count']:>6,}"
            f"   deleted {module['deleted_count']:>4,}"
        )
    for module in summary.get("failed_modules", []):
        print(f"  {module['module']:<20} skipped: {module['error']}")
    for stream in summary.get("reference_streams", []):
        empty = f"   empty: {stream['skipped']}" if "skipped" in stream else ""
        print(
            f"  {stream['stream']:<20} read {stream['record_count']:>6,}"
            f"   calls {stream['calls']:>4,}{empty}"
        )


QUERY = r"""
import sys, clickhouse_connect
client = clickhouse_connect.get_client(interface="chdb", path=sys.argv[1])
tables = [t for (t,) in client.query(
    "SELECT name FROM system.tables WHERE database = 'default' AND engine LIKE '%MergeTree' "
    "AND comment LIKE 'target-clickhouse stream:%' ORDER BY name").result_rows]
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
HISTORY = ("SELECT id, Lead_Status, valid_from, valid_to, is_current, is_deleted\n"
           "FROM zoho_leads_history\n"
           "WHERE id IN (SELECT id FROM zoho_leads_versions GROUP BY id HAVING count() > 1)\n"
           "ORDER BY id, valid_from")
print("\nhistory_mode: every version of the leads the demo changed\n" + HISTORY)
for row in client.query(HISTORY).result_rows:
    print("  ", row)
"""


def main() -> None:
    """Run the demo end to end."""
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    proc, url = start_sandbox()
    try:
        env = meltano_env(url)
        print(f"Zoho sandbox at {url}; ClickHouse (embedded) in {CLICKHOUSE.relative_to(REPO)}")
        full, seconds = run_meltano("full", env)
        report_run("Full sync: meltano run tap-zoho target-clickhouse", full, seconds)
        print(f"\nChanging the sandbox: {mutate(url)}")
        incremental, seconds = run_meltano("incremental", env)
        report_run("Incremental sync: the same command, from Meltano's state", incremental, seconds)
        subprocess.run([sys.executable, "-c", QUERY, str(CLICKHOUSE)], check=True)  # noqa: S603
        print(f"\nClickHouse data, Meltano state and logs: {OUT.relative_to(REPO)}/")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
