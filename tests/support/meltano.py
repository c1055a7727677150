"""The real Meltano CLI against the sandbox, each test in a Meltano project of its own.

``make install`` installs the plugins into the checkout's ``.meltano``; a test's project is a
copy of ``meltano.yml`` whose ``.meltano/<plugin type>`` folders link to those installs, so its
run files (``.meltano/run``), logs and ``$MELTANO_PROJECT_ROOT/output`` are its own and Meltano
runs of parallel tests never overwrite each other's plugin configuration.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.support.compare import differences, tables_rows_and_queries, utc
from tests.support.erp import connect
from tests.support.paths import MELTANO, REPO
from tests.zoho_sandbox import BOOKS_ORG

#: The CRM modules of the ``crm-to-clickhouse`` runs of the end-to-end tests.
CRM = [
    "Leads",
    "Accounts",
    "Deals",
    "Contacts",
    "Projects_X",
    "Contacts_X_Deals",
    "Quotes",
    "Invoices",
    "Sales_Orders",
    "Purchase_Orders",
]
SKIP_REASON = "the Meltano CLI is installed by `make install` (.venv-meltano)"


def project_copy(root: Path) -> Path:
    """A Meltano project in ``root``: the checkout's ``meltano.yml`` and its installed plugins."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "meltano.yml", root / "meltano.yml")
    system = root / ".meltano"
    system.mkdir(exist_ok=True)
    for installed in (REPO / ".meltano").iterdir():
        if installed.is_dir() and installed.name in {"extractors", "loaders", "utilities"}:
            (system / installed.name).symlink_to(installed, target_is_directory=True)
    return root


def meltano_env(sandbox: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment of a Meltano run against ``sandbox``: its own system database and chDB path."""
    config = sandbox.tap_config()
    env = {
        **os.environ,
        "PATH": f"{MELTANO.parent}:{os.environ['PATH']}",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_ENVIRONMENT": "sandbox",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_ZOHO_CLIENT_ID": config["client_id"],
        "TAP_ZOHO_CLIENT_SECRET": config["client_secret"],
        "TAP_ZOHO_REFRESH_TOKEN": config["refresh_token"],
        "TAP_ZOHO_API_DOMAIN": sandbox.base_url,
        "TAP_ZOHO_CRM_MODULES": json.dumps(CRM),
        "TAP_ZOHO_RETRY_BACKOFF_SECONDS": "0",
        "TAP_ZOHO_PRODUCTS_API_DOMAIN": sandbox.base_url,
        "TARGET_CLICKHOUSE_PATH": str(tmp_path / "clickhouse"),
    }
    env.update(extra)
    return env


def erp_meltano_env(sandbox: Any, tmp_path: Path, erp_db: dict) -> dict[str, str]:
    """``meltano_env`` with target-tsh-postgres writing into ``erp_db`` and its report file."""
    return meltano_env(
        sandbox,
        tmp_path,
        TARGET_TSH_POSTGRES_HOST=erp_db["host"],
        TARGET_TSH_POSTGRES_PORT=str(erp_db["port"]),
        TARGET_TSH_POSTGRES_USER=erp_db["user"],
        TARGET_TSH_POSTGRES_DATABASE=erp_db["database"],
        TARGET_TSH_POSTGRES_REPORT_PATH=str(tmp_path / "report.json"),
    )


def meltano(
    env: dict[str, str], *args: str, cwd: Path, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the Meltano CLI in the project ``cwd``; with ``check``, assert it succeeded."""
    result = subprocess.run(
        [str(MELTANO), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


def assert_clickhouse_equals_sandbox(sandbox: Any, path: Path) -> None:
    """Every table read with FINAL holds exactly the sandbox's records, field by field.

    All of it is read in one helper process: starting the engine is the slow part.
    """
    tables = {f"zoho_{module.lower()}": module for module in CRM}
    counts = [f"SELECT count() FROM {table}_current" for table in tables]
    leads = (
        "SELECT id, Lead_Status, Annual_Revenue, toString(Modified_Time), Last_Name, "
        "Owner FROM zoho_leads FINAL"
    )
    stored, (*current, lead_rows) = tables_rows_and_queries(
        path, dict.fromkeys(tables, "id"), [*counts, leads]
    )
    for (table, module), count in zip(tables.items(), current, strict=True):
        expected = sandbox.records(module)
        problems = differences(expected, stored[table])
        assert not problems, f"{module}: {problems[:10]}"
        assert count[0][0] == len(expected)
    rows = {r[0]: r[1:] for r in lead_rows}
    for rid, record in sandbox.records("Leads").items():
        status, revenue, modified, last_name, owner = rows[rid]
        assert status == record["Lead_Status"]
        expected_revenue = record["Annual_Revenue"]
        assert (revenue is None and expected_revenue is None) or Decimal(revenue) == Decimal(
            str(expected_revenue)
        )
        assert modified.startswith(utc(record["Modified_Time"]))
        assert last_name == record["Last_Name"]
        assert json.loads(owner) == record["Owner"]


def assert_erp_holds_the_books_organisation(sandbox: Any, erp_db: dict, report_path: Path) -> None:
    """Active products are the sandbox's active items, every customer arrived, none refused."""
    org = sandbox.finance.orgs[BOOKS_ORG]
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("SELECT zoho_item_id FROM products WHERE is_active")
        active = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT count(*) FROM customers")
        customers = cur.fetchone()[0]
    conn.close()
    assert active == {i for i, r in org.items.items() if r["status"] == "active"}
    assert customers == sum(1 for c in org.contacts.values() if c["contact_type"] == "customer")
    report = json.loads(report_path.read_text())
    assert report["failed"] == 0
