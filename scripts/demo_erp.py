"""`make demo-erp`: `meltano run products-to-erp` against the offline Zoho sandbox and a real ERP.

Starts the Zoho sandbox in its own process and a throwaway PostgreSQL server (the one the tests
use), runs the products job (Zoho Books items, price lists and customers into the ERP tables),
changes the sandbox through its control interface (a price change, an item made inactive, a new
item), runs the job again (incremental, from the state Meltano kept), prints each run's report and
the changed rows of `products` and `product_prices`, and stops both servers. Meltano's state
database, the run reports and the logs of both runs land in `output/demo-erp/`.

Run it as `make demo-erp` (from the repository root: `.venv/bin/python -m scripts.demo_erp`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg2
import requests

from scripts import demo
from tests.support.erp import query
from tests.support.pgserver import PgServer
from tests.zoho_sandbox import BOOKS_ORG

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "output" / "demo-erp"
DATABASE = "tsh_erp"
PRODUCTS_QUERY = (
    "SELECT zoho_item_id, sku, name, price, is_active, source_modified_at FROM products"
    " WHERE zoho_item_id IN %s"
)
PRICES_QUERY = (
    "SELECT zoho_item_id, pricebook_name, price FROM product_prices"
    " WHERE zoho_item_id IN %s ORDER BY 1, 2"
)


def create_database(server: PgServer) -> dict[str, Any]:
    """An empty `tsh_erp` database; return its connection settings."""
    admin = psycopg2.connect(**server.dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{DATABASE}"')
    admin.close()
    return server.dsn(DATABASE)


def meltano_env(url: str, dsn: dict[str, Any]) -> dict[str, str]:
    """`make demo`'s Meltano environment, with the products tap and the ERP server added."""
    return demo.meltano_env(url, OUT) | {
        "TAP_ZOHO_PRODUCTS_API_DOMAIN": url,
        "TARGET_TSH_POSTGRES_HOST": str(dsn["host"]),
        "TARGET_TSH_POSTGRES_PORT": str(dsn["port"]),
        "TARGET_TSH_POSTGRES_USER": str(dsn["user"]),
        "TARGET_TSH_POSTGRES_DATABASE": DATABASE,
    }


def run_job(name: str, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """`meltano run products-to-erp`; return the target's run report and the seconds it took."""
    report = OUT / f"{name}-report.json"
    started = time.monotonic()
    with (OUT / f"{name}.log").open("w") as log:
        subprocess.run(  # noqa: S603
            [str(demo.MELTANO), "run", "products-to-erp"],
            cwd=REPO,
            env={**env, "TARGET_TSH_POSTGRES_REPORT_PATH": str(report)},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    return json.loads(report.read_text()), time.monotonic() - started


def control(url: str, action: str, **body: Any) -> Any:
    """Call the sandbox's control interface (`/__sandbox__/<action>`)."""
    response = requests.post(f"{url}/__sandbox__/{action}", json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def edit_sandbox(url: str) -> dict[str, str]:
    """Reprice one active item, deactivate another, create a new one; return their ids by role."""
    items = requests.get(
        f"{url}/__sandbox__/items", params={"organization_id": BOOKS_ORG}, timeout=30
    ).json()
    active = sorted(i for i, item in items.items() if item["status"] == "active")
    repriced, deactivated = active[0], active[1]
    new_rate = round(float(items[repriced]["rate"]) * 1.1 + 0.01, 2)
    control(url, "item_update", organization_id=BOOKS_ORG, id=repriced, changes={"rate": new_rate})
    control(
        url,
        "item_update",
        organization_id=BOOKS_ORG,
        id=deactivated,
        changes={"status": "inactive"},
    )
    template = {
        k: v
        for k, v in items[repriced].items()
        if k not in {"item_id", "created_time", "last_modified_time"}
    }
    values = template | {"name": "Air filter AF-NEW", "item_name": "Air filter AF-NEW"}
    created = control(
        url, "item_create", organization_id=BOOKS_ORG, values=values | {"sku": "AF-NEW"}
    )
    return {"price change": repriced, "made inactive": deactivated, "new item": created["id"]}


def print_report(title: str, report: dict[str, Any], seconds: float) -> None:
    """The target's run report, one line per ERP table."""
    print(
        f"\n{title} ({seconds:.1f}s): {report['successful']:,} rows written, "
        f"{report['failed']} refused, {report['skipped']} skipped"
    )
    for table, stats in report["tables"].items():
        print(
            f"  {table:<15} processed {stats['total_processed']:>4}"
            f"  inserted {stats['inserted']:>4}  updated {stats['updated']:>4}"
            f"  unchanged {stats['unchanged']:>4}  failed {stats['failed']}"
        )


def print_rows(dsn: dict[str, Any], edited: dict[str, str]) -> None:
    """Counts, and the rows of `products` and `product_prices` for the edited items."""
    (counts,) = query(
        dsn,
        "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM products WHERE is_active),"
        " (SELECT count(*) FROM product_prices), (SELECT count(*) FROM customers)",
    )
    print(
        f"  products {counts[0]} ({counts[1]} active), product_prices {counts[2]}, "
        f"customers {counts[3]}"
    )
    ids = tuple(edited.values())
    role = {item_id: name for name, item_id in edited.items()}
    print(f"\n  {PRODUCTS_QUERY % '(the three items)'}")
    found = query(dsn, PRODUCTS_QUERY, ids)
    for row in sorted(found, key=lambda r: list(role).index(r[0])):
        print(
            f"    {role[row[0]]:<14} {row[0]}  {row[1]:<8} {row[2]:<20} {row[3]:>10}  "
            f"active={row[4]!s:<5}  {row[5]:%Y-%m-%d %H:%M:%S%z}"
        )
    for item_id in set(ids) - {row[0] for row in found}:
        print(f"    {role[item_id]:<14} {item_id}  (not in the ERP yet)")
    print(f"\n  {PRICES_QUERY % '(the three items)'}")
    for row in query(dsn, PRICES_QUERY, ids):
        print(f"    {role[row[0]]:<14} {row[0]}  {row[1]:<12} {row[2]:>10}")


def main() -> None:
    """Run the demo end to end; always stop the sandbox and the database server."""
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    sandbox, url = demo.start_sandbox(OUT / "tap.json")
    server = PgServer()
    try:
        server.start()
        dsn = create_database(server)
        env = meltano_env(url, dsn)
        print(f"Zoho sandbox at {url}; ERP PostgreSQL at 127.0.0.1:{server.port}/{DATABASE}")
        report, seconds = run_job("first", env)
        print_report("First run: meltano run products-to-erp", report, seconds)
        edited = edit_sandbox(url)
        print("\nChanging Zoho Books (sandbox): " + ", ".join(edited) + "; ERP rows before:")
        print_rows(dsn, edited)
        report, seconds = run_job("second", env)
        print_report("Second run: the same command, from Meltano's state", report, seconds)
        print("\nERP rows after:")
        print_rows(dsn, edited)
        print(f"\nMeltano state, run reports and logs: {OUT.relative_to(REPO)}/")
    finally:
        server.stop()
        sandbox.terminate()
        sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
