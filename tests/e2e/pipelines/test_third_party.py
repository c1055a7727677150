"""Our plugins in other Singer stacks: tap-zoho into target-jsonl, tap-jsonl into target-clickhouse.

Both third-party plugins come from PyPI, installed by `make test` through `meltano install`.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.compare import query
from tests.support.paths import BIN, REPO
from tests.support.pipes import write_json

TARGET_JSONL = REPO / ".meltano" / "loaders" / "target-jsonl" / "venv" / "bin" / "target-jsonl"
TAP_JSONL = REPO / ".meltano" / "extractors" / "tap-jsonl" / "venv" / "bin" / "tap-jsonl"

pytestmark = pytest.mark.skipif(
    not (TARGET_JSONL.exists() and TAP_JSONL.exists()),
    reason="target-jsonl and tap-jsonl are installed from PyPI by `make test` (meltano install)",
)


def test_tap_zoho_piped_into_target_jsonl_writes_every_record(sandbox, tmp_path):
    tap_config = write_json(
        tmp_path / "tap.json", sandbox.tap_config(crm_modules=["Accounts", "Deals"])
    )
    out = tmp_path / "out"
    out.mkdir()
    target_config = write_json(
        tmp_path / "target.json", {"destination_path": str(out), "do_timestamp_file": False}
    )
    tap = subprocess.Popen(
        [str(BIN / "tap-zoho"), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.run(
        [str(TARGET_JSONL), "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tap.wait(timeout=300) == 0
    assert target.returncode == 0, target.stderr[-2000:]

    for module in ("Accounts", "Deals"):
        lines = (out / f"{module.lower()}.jsonl").read_text().splitlines()
        ids = {json.loads(line)["id"] for line in lines}
        assert ids == set(sandbox.records(module))
    assert json.loads(target.stdout.strip().splitlines()[-1])["bookmarks"]["accounts"]


def test_tap_jsonl_piped_into_target_clickhouse_loads_the_file(tmp_path):
    source = tmp_path / "people.jsonl"
    people = [
        {"id": str(n), "name": f"person {n}", "score": n * 1.5, "tags": ["a", "b"][: n % 3]}
        for n in range(250)
    ]
    source.write_text("".join(json.dumps(p) + "\n" for p in people))
    tap_config = write_json(
        tmp_path / "tap.json",
        {"path": str(source), "stream_name": "people", "primary_keys": ["id"]},
    )
    target_config = write_json(tmp_path / "target.json", {"path": str(tmp_path / "ch")})
    tap = subprocess.Popen(
        [str(TAP_JSONL), "--config", str(tap_config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.run(
        [str(BIN / "target-clickhouse"), "--config", str(target_config)],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tap.wait(timeout=300) == 0
    assert target.returncode == 0, target.stderr[-2000:]

    rows = query(tmp_path / "ch", "SELECT id, name, score FROM people_current ORDER BY toInt64(id)")
    assert [r[0] for r in rows] == [p["id"] for p in people]
    assert rows[3][1] == "person 3"
    assert float(rows[3][2]) == 4.5
