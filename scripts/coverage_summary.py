"""Print line coverage per plugin package from the ``.coverage`` that pytest wrote.

``make coverage`` runs pytest with ``--cov`` and no report of its own, then this script: one line
per package instead of a table of every module. ``coverage report`` still gives the details.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import coverage
from coverage.exceptions import NoDataError

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "tap-zoho": "tap_zoho",
    "target-clickhouse": "target_clickhouse",
    "target-tsh-postgres": "target_tsh_postgres",
    "zoho-sync-service": "zoho_sync_service",
}


def main() -> int:
    """One line per package (a report only: no threshold)."""
    data = coverage.Coverage(data_file=str(ROOT / ".coverage"))
    data.load()
    print("Coverage (lines, measured in the pytest processes):")
    for project, package in PACKAGES.items():
        include = [str(ROOT / project / package / "*")]
        try:
            percent = data.report(include=include, file=io.StringIO())
        except NoDataError:
            print(f"  {project:<22} no data")
            continue
        print(f"  {project:<22} {percent:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
