"""Modules read side by side: valid Singer output, Zoho's concurrency respected, same records."""

from __future__ import annotations

import pytest
from tap_zoho.datetimes import to_epoch

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import wide_module_spec

NAMES = [f"Mod{i}_X" for i in range(6)]


@pytest.fixture
def six_modules():
    specs = [wide_module_spec(name, 8, 250 + 40 * i) for i, name in enumerate(NAMES)]
    specs.append(wide_module_spec("Wide_X", 120, 450))  # three field groups per page
    sandbox = Sandbox(specs=specs)
    sandbox.faults.latency_seconds = 0.01
    sandbox.start()
    yield sandbox
    sandbox.stop()


def config(sandbox, **overrides):
    return sandbox.tap_config(page_size=50, crm_include_deleted=False, **overrides)


def test_output_stays_valid_singer_while_modules_interleave(six_modules):
    run = run_tap(config(six_modules, max_parallel_modules=4))

    assert run.error is None
    schema_seen: set[str] = set()
    newest: dict[str, int] = {}
    switches = 0
    last_stream = None
    for message in run.messages:
        if message["type"] == "SCHEMA":
            schema_seen.add(message["stream"])
        elif message["type"] == "RECORD":
            stream = message["stream"]
            assert stream in schema_seen, f"{stream}: RECORD before its SCHEMA"
            if "Modified_Time" not in message["record"]:
                continue  # reference data (roles...), read in the main thread meanwhile
            epoch = to_epoch(message["record"]["Modified_Time"])
            newest[stream] = max(newest.get(stream, epoch), epoch)
            switches += stream != last_stream
            last_stream = stream
        elif message["type"] == "STATE":
            for stream, bookmark in message["value"].get("bookmarks", {}).items():
                value = bookmark.get("replication_key_value")
                if value is not None:
                    assert stream in newest, f"{stream}: bookmark before any record"
                    assert to_epoch(value) <= newest[stream], f"{stream}: bookmark ahead"
    assert switches > len(NAMES) + 1  # records of different modules interleave


def test_the_same_records_arrive_as_one_module_after_another(six_modules):
    sequential = run_tap(config(six_modules, max_parallel_modules=1, crm_reference_data=False))
    parallel = run_tap(config(six_modules, max_parallel_modules=4, crm_reference_data=False))

    for stream, records in sequential.records.items():
        assert sorted(r["id"] for r in parallel.records[stream]) == sorted(r["id"] for r in records)
        ids = [r["id"] for r in parallel.records[stream]]
        assert len(ids) == len(set(ids))
    assert parallel.state["bookmarks"] == sequential.state["bookmarks"]


def test_one_concurrency_limit_covers_modules_and_field_groups(six_modules):
    six_modules.faults.max_concurrency = 3  # Zoho answers 429 past this
    run = run_tap(config(six_modules, max_parallel_modules=4, max_concurrent_calls=3))

    assert run.error is None
    assert six_modules.stats.requests["TOO_MANY_REQUESTS"] == 0
    assert 1 < six_modules.stats.max_in_flight <= 3


def test_the_next_run_continues_from_the_parallel_runs_state(six_modules):
    first = run_tap(config(six_modules, crm_reference_data=False))
    six_modules.update("Mod2_X", next(iter(six_modules.records("Mod2_X"))), {"Name": "new"})

    second = run_tap(config(six_modules, crm_reference_data=False), state=first.state)

    assert [r["Name"] for r in second.records["mod2_x"]] == ["new"]
    assert sum(len(v) for v in second.records.values()) == 1
