"""Benchmark: target-tsh-postgres upserting items into a fresh PostgreSQL, against two baselines.

    python bench/target_tsh_postgres.py [--records 100000]
    python bench/target_tsh_postgres.py --compare OTHER [--compare OTHER2] [--rounds 4]

With ``--compare``, OTHER is another checkout's ``target-tsh-postgres`` folder (for example
``git archive main target-tsh-postgres | tar -x -C /tmp/main``, then
``--compare /tmp/main/target-tsh-postgres``): each build in turn loads the same files into a
fresh database, round after round, so a busy machine slows them alike; the table gives medians
of wall and CPU seconds (user + system of the target process) and their ratios to this checkout.

Writes a Singer file of N item records, 10% of them repeated at the end with newer modified
times, starts a throwaway PostgreSQL server, and measures on fresh databases:
  * target-tsh-postgres (a real subprocess): products/s and peak RSS, also on a file 10x smaller,
  * the legacy approach: one upsert and one commit per row (on the first 10,000 rows: it is slow),
  * the practical bound: msgspec parsing, COPY into a temporary table and one
    INSERT ... ON CONFLICT DO UPDATE per 10,000-row batch, in this script.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This script's own name shadows the package when run from bench/: import from site-packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(REPO))

import msgspec  # noqa: E402
import psycopg2  # noqa: E402

from tests.support.pgserver import PgServer  # noqa: E402

TARGET = Path(sys.executable).with_name("target-tsh-postgres")
COLUMNS = [
    "zoho_item_id",
    "organization_id",
    "sku",
    "name",
    "description",
    "unit",
    "price",
    "cost",
    "stock_on_hand",
    "available_stock",
    "is_active",
    "image_url",
    "brand",
    "category",
    "source_modified_at",
    "zoho_data",
]


def item(n: int, minute: int) -> dict:
    return {
        "item_id": str(3850050000000000000 + n),
        "name": f"Oil filter OD{n}",
        "sku": f"OF-{n:06d}",
        "status": "active" if n % 10 else "inactive",
        "item_type": "inventory",
        "product_type": "goods",
        "unit": "pcs",
        "description": f"Filter {n}",
        "rate": round(10 + n % 500 * 0.75, 2),
        "purchase_rate": round(6 + n % 300 * 0.5, 2),
        "tax_percentage": 0,
        "stock_on_hand": float(n % 40),
        "available_stock": float(n % 40),
        "brand": "Bosch",
        "category_name": "Filters",
        "image_document_id": str(n),
        "organization_id": "10234695",
        "image_url": f"https://www.zohoapis.com/inventory/v1/items/{n}/image?organization_id=1",
        "created_time": "2023-02-07T11:44:42+0200",
        "last_modified_time": f"2024-02-26T15:{minute:02d}:57+0200",
    }


def write_file(path: Path, count: int, version: int | None = None) -> None:
    """With ``version``: a complete items listing (records stamped, ACTIVATE_VERSION at the end)."""
    stamp = {} if version is None else {"version": version}
    schema = {
        "type": "SCHEMA",
        "stream": "books_items",
        "key_properties": ["item_id"],
        "schema": {"properties": {"item_id": {"type": ["string"]}}},
    }
    with path.open("w") as out:
        out.write(json.dumps(schema) + "\n")
        for n in range(count):
            record = {"type": "RECORD", "stream": "books_items", "record": item(n, 10), **stamp}
            out.write(json.dumps(record) + "\n")
        for n in range(0, count, 10):  # 10% repeated later, newer
            record = {"type": "RECORD", "stream": "books_items", "record": item(n, 40), **stamp}
            out.write(json.dumps(record) + "\n")
        if version is not None:
            activation = {"type": "ACTIVATE_VERSION", "stream": "books_items", "version": version}
            out.write(json.dumps(activation) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"done": True}}) + "\n")


def fresh_db(server: PgServer, name: str) -> dict:
    admin = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return server.dsn(name)


def connect(dsn: dict):
    return psycopg2.connect(
        host=dsn["host"], port=dsn["port"], user=dsn["user"], dbname=dsn["database"]
    )


def run_target(path: Path, dsn: dict, work: Path) -> tuple[float, int, float]:
    """Seconds end to end (process start included), peak RSS, seconds from the first record."""
    config = work / f"{dsn['database']}.json"
    report = work / f"{dsn['database']}-report.json"
    config.write_text(json.dumps({**dsn, "report_path": str(report)}))
    with path.open("rb") as stdin, open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(TARGET), "--config", str(config)],
            stdin=stdin,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"target-tsh-postgres failed ({status})")
    loading = json.loads(report.read_text())["duration_seconds"]
    return seconds, usage.ru_maxrss // 1024, loading


def create_products(conn) -> None:
    from target_tsh_postgres.ddl import create_tables
    from target_tsh_postgres.mapping import TABLES

    create_tables(conn, "public", TABLES)


def rows_of(path: Path) -> list[tuple]:
    decoder = msgspec.json.Decoder()
    encoder = msgspec.json.Encoder()
    rows = []
    with path.open("rb") as lines:
        for line in lines:
            message = decoder.decode(line)
            if message["type"] != "RECORD":
                continue
            r = message["record"]
            rows.append(
                (
                    r["item_id"],
                    r["organization_id"],
                    r["sku"],
                    r["name"],
                    r["description"],
                    r["unit"],
                    r["rate"],
                    r["purchase_rate"],
                    r["stock_on_hand"],
                    r["available_stock"],
                    r["status"] == "active",
                    r["image_url"],
                    r["brand"],
                    r["category_name"],
                    r["last_modified_time"],
                    encoder.encode(r).decode(),
                )
            )
    return rows


UPSERT = (
    "INSERT INTO products AS t ({cols}) {source} ON CONFLICT (zoho_item_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
    + ", last_synced = now() WHERE t.source_modified_at IS NULL "
    "OR EXCLUDED.source_modified_at > t.source_modified_at"
).replace("{cols}", ", ".join(COLUMNS))


def legacy_loop(path: Path, dsn: dict, limit: int) -> float:
    conn = connect(dsn)
    create_products(conn)
    rows = rows_of(path)[:limit]
    statement = UPSERT.replace("{source}", "VALUES (" + ", ".join(["%s"] * len(COLUMNS)) + ")")
    started = time.perf_counter()
    with conn.cursor() as cur:
        for row in rows:
            cur.execute(statement, row)
            conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return len(rows) / seconds


def copy_bound(path: Path, dsn: dict) -> float:
    conn = connect(dsn)
    create_products(conn)
    started = time.perf_counter()
    rows = rows_of(path)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE load (LIKE products INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        for start in range(0, len(rows), 10_000):
            batch = {r[0]: r for r in rows[start : start + 10_000]}.values()
            buffer = io.StringIO(
                "".join(
                    "\t".join("\\N" if v is None else str(v).replace("\\", "\\\\") for v in row)
                    + "\n"
                    for row in batch
                )
            )
            cur.copy_expert(f"COPY load ({', '.join(COLUMNS)}) FROM STDIN", buffer)
            cur.execute(UPSERT.replace("{source}", f"SELECT {', '.join(COLUMNS)} FROM load"))
            conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return len(rows) / seconds


def run_build(path: Path, dsn: dict, work: Path, source: Path | None) -> tuple[float, float]:
    """Wall and CPU seconds of one target process; ``source``: another build's package folder."""
    config = work / f"{dsn['database']}.json"
    config.write_text(json.dumps(dsn))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if source is not None:
        env["PYTHONPATH"] = str(source)  # ahead of this checkout's editable install
    with path.open("rb") as stdin, open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(TARGET), "--config", str(config)],
            stdin=stdin,
            stdout=sink,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"target-tsh-postgres ({source or 'this checkout'}) failed ({status})")
    return seconds, usage.ru_utime + usage.ru_stime


def compare(others: list[Path], n: int, rounds: int) -> None:
    """This checkout against other builds, alternating, on a plain file and a listing."""
    import statistics

    work = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    files = {"plain": work / "items.singer.jsonl", "listing": work / "listing.singer.jsonl"}
    write_file(files["plain"], n)
    write_file(files["listing"], n, version=1)
    builds: dict[str, Path | None] = {"this checkout": None}
    builds.update({str(other): other for other in others})
    times: dict[tuple[str, str], list[tuple[float, float]]] = {
        (b, f): [] for b in builds for f in files
    }
    server = PgServer(durable=True).start()
    try:
        for round_ in range(rounds):
            for b, (name, source) in enumerate(builds.items()):
                for kind, path in files.items():
                    dsn = fresh_db(server, f"r{round_}_b{b}_{kind}")
                    times[(name, kind)].append(run_build(path, dsn, work, source))
    finally:
        server.stop()
    total = n + n // 10
    print(f"{n:,} items + {n // 10:,} newer repeats, {rounds} alternating rounds, medians")
    print(f"{'build':<44}{'input':<9}{'wall s':>8}{'CPU s':>8}{'wall/this':>11}{'CPU/this':>10}")
    for kind in files:
        wall = {b: statistics.median(w for w, _ in times[(b, kind)]) for b in builds}
        cpu = {b: statistics.median(c for _, c in times[(b, kind)]) for b in builds}
        for b in builds:
            ratio_wall, ratio_cpu = wall[b] / wall["this checkout"], cpu[b] / cpu["this checkout"]
            print(
                f"{b[-44:]:<44}{kind:<9}{wall[b]:>8.2f}{cpu[b]:>8.2f}"
                f"{ratio_wall:>11.2f}{ratio_cpu:>10.2f}"
            )
    print(f"({total:,} products per file)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--compare", type=Path, action="append", default=[])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    n = args.records
    if args.compare:
        compare(args.compare, n, args.rounds)
        return
    total = n + n // 10
    work = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    big, small = work / "items.singer.jsonl", work / "items-small.singer.jsonl"
    write_file(big, n)
    write_file(small, n // 10)
    listing = work / "items-listing.singer.jsonl"
    write_file(listing, n, version=1)
    server = PgServer(durable=True).start()  # fsync on: commits cost what they cost
    try:
        target_s, target_mb, loading_s = run_target(big, fresh_db(server, "target_big"), work)
        small_s, small_mb, _ = run_target(small, fresh_db(server, "target_small"), work)
        listing_s, listing_mb, _ = run_target(listing, fresh_db(server, "listing"), work)
        bound = copy_bound(big, fresh_db(server, "bound"))
        legacy = legacy_loop(big, fresh_db(server, "legacy"), min(10_000, total))
    finally:
        server.stop()
    rate = total / target_s
    print(f"target-tsh-postgres benchmark: {n:,} items + {n // 10:,} newer repeats, PostgreSQL 15")
    print(f"{'run':<46}{'products/s':>12}{'peak RSS MB':>13}")
    print(f"{'legacy: upsert + commit per row':<46}{legacy:>12,.0f}{'':>13}")
    print(f"{'bound: COPY + INSERT ON CONFLICT per batch':<46}{bound:>12,.0f}{'':>13}")
    print(f"{'target-tsh-postgres (whole process)':<46}{rate:>12,.0f}{target_mb:>13,}")
    print(f"{'target-tsh-postgres (first record to last commit)':<46}{total / loading_s:>12,.0f}")
    print(
        f"{'target-tsh-postgres, input / 10':<46}{(n + n // 10) / 10 / small_s:>12,.0f}{small_mb:>13,}"
    )
    print(
        f"{'target-tsh-postgres, a complete items listing':<46}{total / listing_s:>12,.0f}"
        f"{listing_mb:>13,}"
    )
    print(
        f"listing (ids kept, ACTIVATE_VERSION) / plain: {target_s / listing_s:.2f} speed, "
        f"{listing_mb / max(target_mb, 1):.2f} peak memory"
    )
    print(
        f"target / bound: {rate / bound:.2f}   target / legacy: {rate / legacy:.1f}x   "
        f"peak memory at 10x input: {target_mb / max(small_mb, 1):.2f}x"
    )


if __name__ == "__main__":
    main()
