"""`make demo`: a full then an incremental tap-zoho run against the offline Zoho sandbox.

Starts the sandbox in its own process, runs `tap-zoho` (full sync), edits, creates and deletes
some sandbox records, runs `tap-zoho` again with the saved state, prints a short report, and
stops the sandbox. Singer output lands in `output/demo/`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "output" / "demo"
TAP = Path(sys.executable).with_name("tap-zoho")


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


def run_tap(name: str, state: Path | None) -> tuple[Counter, dict, float]:
    """Run the tap; return record counts per stream, the last state, and seconds taken."""
    args = [str(TAP), "--config", str(OUT / "tap.json")]
    if state:
        args += ["--state", str(state)]
    started = time.monotonic()
    with (OUT / f"{name}.singer.jsonl").open("w") as out, (OUT / f"{name}.log").open("w") as log:
        subprocess.run(args, stdout=out, stderr=log, check=True)  # noqa: S603
    seconds = time.monotonic() - started
    counts: Counter = Counter()
    last_state: dict = {}
    with (OUT / f"{name}.singer.jsonl").open() as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "RECORD":
                deleted = bool(message["record"].get("_sdc_deleted_at"))
                counts[(message["stream"], "deleted" if deleted else "upserted")] += 1
            elif message["type"] == "STATE":
                last_state = message["value"]
    (OUT / f"{name}.state.json").write_text(json.dumps(last_state))
    return counts, last_state, seconds


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


def report(title: str, counts: Counter, seconds: float) -> None:
    """Print records per stream for one run."""
    print(f"\n{title} ({seconds:.1f}s)")
    streams = sorted({stream for stream, _ in counts})
    for stream in streams:
        print(
            f"  {stream:<20} upserted {counts[(stream, 'upserted')]:>6,}"
            f"   deleted {counts[(stream, 'deleted')]:>4,}"
        )
    if not streams:
        print("  (no records)")


def main() -> None:
    """Run the demo end to end."""
    OUT.mkdir(parents=True, exist_ok=True)
    proc, url = start_sandbox()
    try:
        print(f"Zoho sandbox at {url}")
        full, _, seconds = run_tap("full", None)
        report("Full sync: tap-zoho", full, seconds)
        print(f"\nChanging the sandbox: {mutate(url)}")
        incremental, state, seconds = run_tap("incremental", OUT / "full.state.json")
        report("Incremental sync: tap-zoho --state", incremental, seconds)
        leads = state.get("bookmarks", {}).get("leads", {})
        print(f"\nLeads bookmark: {leads.get('replication_key_value')}")
        print(f"Singer output, logs and state: {OUT.relative_to(REPO)}/")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
