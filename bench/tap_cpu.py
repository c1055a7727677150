"""Benchmark: CPU seconds of tap-zoho processes reading one wide CRM module, side by side.

    python bench/tap_cpu.py [TAP ...] [--records 20000] [--fields 120] [--rounds 3]

Each TAP is a ``tap-zoho`` executable (default: this checkout's); give another checkout's to
compare builds. The runs alternate, so a busy machine slows both alike; the figure is the user +
system CPU time of the tap process (``os.wait4``), on the Get Records path (no Bulk Read, no detail
reads, one module at a time), reading from a sandbox in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THIS_TAP = Path(sys.executable).with_name("tap-zoho")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("taps", nargs="*", default=[str(THIS_TAP)])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--fields", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    module = f"Wide{args.fields}_X"
    command = [sys.executable, "-m", "tests.zoho_sandbox", "--config-out", str(work / "c.json")]
    command += ["--module", f"{module}:{args.fields}:{args.records}", "--mints-per-window", "1000"]
    sandbox = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sandbox.stdout is not None
    sandbox.stdout.readline()  # the URL: the sandbox is up
    config = json.loads((work / "c.json").read_text())
    config.update(
        crm_modules=[module],
        crm_bulk_read_min_records=0,
        crm_detail_reads=False,
        max_parallel_modules=1,
    )
    (work / "config.json").write_text(json.dumps(config))
    seconds: dict[str, list[float]] = {tap: [] for tap in args.taps}
    try:
        for _ in range(args.rounds):
            for tap in args.taps:
                seconds[tap].append(cpu_seconds(tap, work))
    finally:
        sandbox.terminate()
        sandbox.wait()
    print(f"tap CPU seconds per {args.records:,} records x {args.fields} fields (Get Records):")
    baseline = min(seconds[args.taps[0]])
    for tap, values in seconds.items():
        figures = ", ".join(f"{value:.2f}" for value in values)
        print(f"  {tap}: {figures}  (min {min(values):.2f}, {min(values) / baseline:.2f}x)")


def cpu_seconds(tap: str, work: Path) -> float:
    """User + system CPU of one complete tap run (its output goes to /dev/null)."""
    with open(os.devnull, "w") as out, (work / "tap.log").open("w") as log:
        process = subprocess.Popen(
            [tap, "--config", str(work / "config.json")], stdout=out, stderr=log
        )
        _, status, usage = os.wait4(process.pid, 0)
    if status:
        last = ((work / "tap.log").read_text().strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"{tap} failed: {last}")
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
