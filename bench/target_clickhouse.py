"""Benchmark: target-clickhouse loading CRM-like records into the embedded engine, vs the raw limit.

    python bench/target_clickhouse.py [--records 200000]

Writes a Singer message file of N records (60 columns: strings, integers, floats, decimals,
date-times, lookups, arrays), then in separate processes:
  * target-clickhouse reading the file (records/s and peak RSS),
  * the raw limit: the same file parsed with msgspec and inserted with `client.insert` directly,
    into the same typed table, in 50,000-row batches,
  * the native limit: envelopes decoded with msgspec keeping each `record` as raw JSON text
    (`msgspec.Raw`), 50,000-record batches handed to ClickHouse as `JSONEachRow`
    (`client.raw_insert`) into the same typed ReplacingMergeTree table: the engine's own speed,
and the target and the native limit again on a file ten times smaller, to show memory does not
grow with input beyond what the engine itself grows (the native limit's ratio).

The target and the native limit run ``--rounds`` times (default 3), alternated so both see the
same machine; the table shows each one's median run, and the ratio line every round's ratio.

    python bench/target_clickhouse.py --history [--records 200000]

instead measures what `history_mode` costs: the same two loads (the N records, then a new version
of each) with and without it, alternated, in load time, rows and bytes on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = Path(sys.executable).with_name("target-clickhouse")

STRINGS, INTS, FLOATS, DECIMALS, DATES, LOOKUPS, ARRAYS = 22, 8, 6, 8, 8, 4, 3


def properties() -> dict:
    props: dict = {"id": {"type": ["string"]}}
    props.update({f"Text_{i}": {"type": ["string", "null"]} for i in range(STRINGS)})
    props.update({f"Int_{i}": {"type": ["integer", "null"]} for i in range(INTS)})
    props.update({f"Float_{i}": {"type": ["number", "null"]} for i in range(FLOATS)})
    props.update(
        {
            f"Money_{i}": {
                "type": ["number", "null"],
                "x-sql-datatype": "decimal",
                "x-sql-datatype-properties": {"precision": 18, "scale": 2},
            }
            for i in range(DECIMALS)
        }
    )
    props.update(
        {f"Time_{i}": {"type": ["string", "null"], "format": "date-time"} for i in range(DATES - 1)}
    )
    props["Modified_Time"] = {"type": ["string", "null"], "format": "date-time"}
    props.update(
        {
            f"Lookup_{i}": {"type": ["object", "null"], "additionalProperties": True}
            for i in range(LOOKUPS)
        }
    )
    props.update(
        {
            f"Tags_{i}": {"type": ["array", "null"], "items": {"type": ["string"]}}
            for i in range(ARRAYS)
        }
    )
    return props


def write_file(path: Path, count: int, month: int = 3) -> None:
    rng = random.Random(42)
    props = properties()
    with path.open("w") as out:
        out.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "leads",
                    "schema": {"properties": props},
                    "key_properties": ["id"],
                    "bookmark_properties": ["Modified_Time"],
                }
            )
            + "\n"
        )
        for n in range(count):
            record: dict = {"id": str(5843104000000000000 + n)}
            for i in range(STRINGS):
                record[f"Text_{i}"] = f"value {n % 997} {i}"
            for i in range(INTS):
                record[f"Int_{i}"] = rng.randint(0, 10**6)
            for i in range(FLOATS):
                record[f"Float_{i}"] = round(rng.random() * 1000, 3)
            for i in range(DECIMALS):
                record[f"Money_{i}"] = round(rng.random() * 100000, 2)
            for i in range(DATES - 1):
                record[f"Time_{i}"] = f"2024-0{1 + i % 9}-1{n % 10}T10:{n % 60:02d}:30+05:30"
            record["Modified_Time"] = (
                f"2024-{month:02d}-0{1 + n % 9}T0{n % 10}:20:{n % 60:02d}+05:30"
            )
            for i in range(LOOKUPS):
                record[f"Lookup_{i}"] = {"name": f"Owner {n % 50}", "id": str(58431040000 + n % 50)}
            for i in range(ARRAYS):
                record[f"Tags_{i}"] = ["a", "b"] if n % 2 else []
            out.write(json.dumps({"type": "RECORD", "stream": "leads", "record": record}) + "\n")
        out.write(json.dumps({"type": "STATE", "value": {"done": count}}) + "\n")


CPU_SECONDS: dict[str, float] = {}  # CPU time (user + system) of each run, by its first argument


def run_measured(args: list[str], stdin_path: Path) -> tuple[float, int]:
    """Run a child process on the file; return (seconds, peak RSS in MB); CPU time aside."""
    with stdin_path.open("rb") as stdin, open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdin=stdin, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{args[0]} failed with status {status}")
    CPU_SECONDS[args[-1]] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss // 1024


def raw_load(data_path: str) -> None:
    """The raw limit: msgspec parse + client.insert into the same typed table."""
    from datetime import UTC, datetime
    from decimal import Decimal

    # This script's own name shadows the package when run from bench/: import it from site-packages.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("target_clickhouse", None)
    import clickhouse_connect
    import msgspec
    from target_clickhouse import ddl

    client = clickhouse_connect.get_client(interface="chdb", path=data_path)
    decoder = msgspec.json.Decoder()
    columns: list[str] = []
    kinds: list[str] = []
    batch: list[list] = []

    def flush() -> None:
        if batch:
            client.insert("leads_raw", batch, column_names=columns)
            batch.clear()

    for line in sys.stdin.buffer:
        message = decoder.decode(line)
        if message["type"] == "SCHEMA":
            props = message["schema"]["properties"]
            types = ddl.column_types(
                message["schema"], ("id",), all_strings=False, json_type="String"
            )
            spec = ddl.TableSpec("default", "leads_raw", types, ("id",))
            client.command(ddl.create_table(spec))
            columns = list(props)
            kinds = [ddl.strip_nullable(types[c]) for c in columns]
        elif message["type"] == "RECORD":
            record = message["record"]
            row = []
            for name, kind in zip(columns, kinds, strict=True):
                value = record.get(name)
                if value is not None:
                    if kind.startswith("DateTime64"):
                        value = datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)
                    elif kind.startswith("Decimal"):
                        value = Decimal(str(value))
                    elif kind == "String" and not isinstance(value, str):
                        value = msgspec.json.encode(value).decode()
                row.append(value)
            batch.append(row)
            if len(batch) >= 50_000:
                flush()
    flush()


def native_load(data_path: str) -> None:
    """The native limit: msgspec Raw envelopes + JSONEachRow inserts into the same typed table."""
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.modules.pop("target_clickhouse", None)
    import clickhouse_connect
    import msgspec
    from target_clickhouse import ddl

    envelope_type = msgspec.defstruct(
        "Envelope", [("type", str), ("stream", str, ""), ("record", msgspec.Raw, msgspec.Raw(b""))]
    )

    client = clickhouse_connect.get_client(interface="chdb", path=data_path)
    envelope = msgspec.json.Decoder(envelope_type).decode
    full = msgspec.json.Decoder().decode
    settings = {
        "date_time_input_format": "best_effort",
        "input_format_json_read_objects_as_strings": 1,
        "input_format_json_read_arrays_as_strings": 1,
        "input_format_skip_unknown_fields": 1,
    }
    columns: list[str] = []
    batch: list[msgspec.Raw] = []

    def flush() -> None:
        if batch:
            block = b"\n".join(batch)
            client.raw_insert("leads_native", columns, block, settings=settings, fmt="JSONEachRow")
            batch.clear()

    for line in sys.stdin.buffer:
        head = envelope(line)
        if head.type == "RECORD":
            batch.append(head.record)
            if len(batch) >= 50_000:
                flush()
        elif head.type == "SCHEMA":
            schema = full(line)["schema"]
            types = ddl.column_types(schema, ("id",), all_strings=False, json_type="String")
            client.command(
                ddl.create_table(ddl.TableSpec("default", "leads_native", types, ("id",)))
            )
            columns = list(types)
    flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--raw", help=argparse.SUPPRESS)
    parser.add_argument("--native", help=argparse.SUPPRESS)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternated runs of the native limit and the target"
    )
    parser.add_argument("--history", action="store_true", help="instead: the cost of history_mode")
    parser.add_argument(
        "--memory-sizes",
        help="instead: peak memory of the target alone at these record counts, e.g. "
        "20000,50000,200000,1000000 (flat once one batch is full)",
    )
    args = parser.parse_args()
    if args.raw:
        raw_load(args.raw)
        return
    if args.native:
        native_load(args.native)
        return
    n = args.records
    work = Path(tempfile.mkdtemp(prefix="bench-ch-"))
    try:
        if args.memory_sizes:
            memory_curve([int(x) for x in args.memory_sizes.split(",")], work)
        elif args.history:
            history_cost(n, work)
        else:
            compare(n, work, max(1, args.rounds))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def memory_curve(sizes: list[int], work: Path) -> None:
    """Peak RSS of the target (engine included) per input size, each in a fresh process."""
    print(f"{'records':>10}{'seconds':>9}{'peak RSS MB':>13}{'vs first':>10}")
    first = None
    for count in sizes:
        path = work / f"{count}.singer.jsonl"
        write_file(path, count)
        config = work / f"{count}.json"
        config.write_text(json.dumps({"path": str(work / f"db{count}")}))
        seconds, peak = run_measured([str(TARGET), "--config", str(config)], path)
        path.unlink()
        first = first or peak
        print(f"{count:>10,}{seconds:>9.1f}{peak:>13,}{peak / first:>9.2f}x")


def history_cost(n: int, work: Path, rounds: int = 2) -> None:
    """Two loads (N records, then a new version of each) with and without history_mode."""
    import clickhouse_connect

    first, second = work / "v1.singer.jsonl", work / "v2.singer.jsonl"
    write_file(first, n)
    write_file(second, n, month=4)
    seconds = {False: 0.0, True: 0.0}
    for number in range(rounds):  # alternated, so both see the same machine
        for history in (False, True):
            data = work / f"db-{history}-{number}"
            config = work / f"{history}.json"
            config.write_text(json.dumps({"path": str(data), "history_mode": history}))
            for path in (first, second):
                seconds[history] += run_measured([str(TARGET), "--config", str(config)], path)[0]
    client = clickhouse_connect.get_client(interface="chdb", path=str(work / "db-True-0"))
    client.command("OPTIMIZE TABLE leads FINAL")
    client.command("OPTIMIZE TABLE leads_versions FINAL")
    counts = {
        table: client.query(f"SELECT count() FROM {table}").result_rows[0][0]
        for table in ("leads", "leads_versions")
    }
    disk = dict(
        client.query(
            "SELECT table, sum(bytes_on_disk) FROM system.parts WHERE active "
            "AND database = 'default' GROUP BY table"
        ).result_rows
    )
    client.close()
    rate = {h: 2 * n * rounds / s for h, s in seconds.items()}
    print(f"history_mode cost: {n:,} records x 61 columns loaded twice (two versions of each)")
    print(f"{'run':<34}{'records/s':>12}")
    print(f"{'history_mode: false':<34}{rate[False]:>12,.0f}")
    print(f"{'history_mode: true':<34}{rate[True]:>12,.0f}")
    print(
        f"load speed with history: {rate[True] / rate[False]:.2f}x   after OPTIMIZE FINAL: "
        f"leads {counts['leads']:,} rows, leads_versions {counts['leads_versions']:,} rows "
        f"({counts['leads_versions'] / counts['leads']:.1f} per record), on disk "
        f"{disk['leads_versions'] / disk['leads']:.2f}x the table's bytes"
    )


def compare(n: int, work: Path, rounds: int) -> None:
    """Write the files, run every loader on them, print the table."""
    big, small = work / "big.singer.jsonl", work / "small.singer.jsonl"
    write_file(big, n)
    write_file(small, n // 10)
    size_mb = big.stat().st_size / 1e6

    def target(path: Path, data: str) -> tuple[float, int]:
        config = work / f"{data}.json"
        config.write_text(json.dumps({"path": str(work / data)}))
        return run_measured([str(TARGET), "--config", str(config)], path)

    native_runs: list[tuple[float, int, float]] = []  # (seconds, peak MB, CPU s) per round
    target_runs: list[tuple[float, int, float]] = []
    for number in range(rounds):  # alternated: both see the same machine
        native = str(work / f"native{number}")
        seconds, mb = run_measured([sys.executable, __file__, "--native", native], big)
        native_runs.append((seconds, mb, CPU_SECONDS[native]))
        seconds, mb = target(big, f"target{number}")
        target_runs.append((seconds, mb, CPU_SECONDS[str(work / f"target{number}.json")]))
        shutil.rmtree(native, ignore_errors=True)
        shutil.rmtree(work / f"target{number}", ignore_errors=True)
    native_s, native_mb, native_cpu = sorted(native_runs)[rounds // 2]
    tgt_s, tgt_mb, tgt_cpu = sorted(target_runs)[rounds // 2]
    _, native_small_mb = run_measured(
        [sys.executable, __file__, "--native", str(work / "native_small")], small
    )
    raw_s, raw_mb = run_measured([sys.executable, __file__, "--raw", str(work / "raw")], big)
    small_s, small_mb = target(small, "target_small")
    print(
        f"target-clickhouse benchmark: {n:,} records x 61 columns ({size_mb:,.0f} MB of Singer "
        f"messages), embedded chDB; native limit and target: median of {rounds} alternated runs"
    )
    print(f"{'run':<44}{'records/s':>12}{'peak RSS MB':>13}{'CPU s':>8}")
    for label, rate, mb, cpu in [
        ("native limit (msgspec Raw + JSONEachRow)", n / native_s, native_mb, native_cpu),
        ("raw limit (msgspec + client.insert)", n / raw_s, raw_mb, CPU_SECONDS[str(work / "raw")]),
        ("target-clickhouse", n / tgt_s, tgt_mb, tgt_cpu),
        ("target-clickhouse, input / 10", n / 10 / small_s, small_mb, None),
    ]:
        print(f"{label:<44}{rate:>12,.0f}{mb:>13,}" + (f"{cpu:>8.1f}" if cpu else ""))
    ratios = ", ".join(f"{a[0] / b[0]:.2f}" for a, b in zip(native_runs, target_runs, strict=True))
    print(f"target / native throughput, round by round: {ratios}")
    print(
        f"target / native throughput: {native_s / tgt_s:.2f} (by CPU time: "
        f"{native_cpu / tgt_cpu:.2f})   "
        f"target / raw throughput: {raw_s / tgt_s:.2f}   "
        f"peak memory at 10x input: {tgt_mb / max(small_mb, 1):.2f}x "
        f"(native limit: {native_mb / max(native_small_mb, 1):.2f}x)"
    )


if __name__ == "__main__":
    main()
