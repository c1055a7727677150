"""The README's "time in stage per deal": zoho_deals_history joined with users and stages.

Three tap-zoho | target-clickhouse runs with ``history_mode`` against the sandbox (a full sync,
then two incremental ones after moving a deal through stages and editing another without a
stage change); the query is read from target-clickhouse's README and run as documented.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from pathlib import Path

from tests.support.compare import query
from tests.support.paths import REPO
from tests.support.pipes import shell_pipe, write_json
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import default_specs

BIN = Path(sys.executable).parent


def documented_query() -> str:
    readme = (REPO / "target-clickhouse" / "README.md").read_text()
    found = re.search(r"<!-- time-in-stage -->\n```sql\n(.*?)```", readme, re.DOTALL)
    assert found, "the README lost its time-in-stage example"
    return found.group(1)


def run(tmp_path: Path, sandbox: Sandbox, state: dict | None) -> dict:
    """One ``tap | target`` run from ``state``; returns the last STATE the target wrote."""
    tap = [str(BIN / "tap-zoho"), "--config", str(write_json(tmp_path / "tap.json",
                                                             sandbox.tap_config()))]  # fmt: skip
    if state is not None:
        tap += ["--state", str(write_json(tmp_path / "state.json", state))]
    config = {"path": str(tmp_path / "ch"), "table_prefix": "zoho_", "history_mode": True}
    target = [str(BIN / "target-clickhouse"), "--config",
              str(write_json(tmp_path / "target.json", config))]  # fmt: skip
    lines = shell_pipe(tap, target).stdout.strip().splitlines()
    return json.loads(lines[-1])


def utc(text: str) -> datetime:
    from datetime import UTC

    return datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)


def test_time_in_stage_per_deal_joins_the_history_to_users_and_stages(tmp_path):
    sandbox = Sandbox(specs=[s for s in default_specs() if s.api_name == "Deals"])
    sandbox.start()
    try:
        deals = sandbox.records("Deals")
        standard = sorted(
            rid for rid, d in deals.items()
            if d.get("Pipeline") == "Standard" and d.get("Stage") == "Qualification"
        )  # fmt: skip
        moved, edited = standard[0], standard[1]
        first = {rid: utc(d["Modified_Time"]) for rid, d in deals.items()}
        state = run(tmp_path, sandbox, None)
        sandbox.update("Deals", moved, {"Stage": "Negotiation/Review"})
        sandbox.update("Deals", edited, {"Amount": 12345.5})  # a new version, the same stage
        second = utc(sandbox.records("Deals")[moved]["Modified_Time"])
        state = run(tmp_path, sandbox, state)
        sandbox.update("Deals", moved, {"Stage": "Closed Won"})
        third = utc(sandbox.records("Deals")[moved]["Modified_Time"])
        run(tmp_path, sandbox, state)
        users = {uid: u["full_name"] for uid, u in sandbox.reference.world.users.items()}
        owners = {rid: users[d["Owner"]["id"]] for rid, d in sandbox.records("Deals").items()}
    finally:
        sandbox.stop()

    stays = query(tmp_path / "ch", documented_query())

    by_deal: dict[str, list[tuple]] = {}
    for deal_id, _deal, _pipeline, stage, owner, entered, left_at, seconds in stays:
        by_deal.setdefault(deal_id, []).append((stage, owner, entered, left_at, seconds))
    assert set(by_deal) == set(first)
    assert by_deal[moved] == [
        (
            "Qualification",
            owners[moved],
            str(first[moved]),
            str(second),
            _seconds(first[moved], second),
        ),
        ("Negotiation/Review", owners[moved], str(second), str(third), _seconds(second, third)),
        ("Closed Won", owners[moved], str(third), None, by_deal[moved][2][4]),
    ]
    assert [(s[0], s[2], s[3]) for s in by_deal[edited]] == [
        ("Qualification", str(first[edited]), None)  # two versions, one stay
    ]
    for deal_id, deal_stays in by_deal.items():
        assert deal_stays[0][0] is not None, deal_id  # every stay joins to its stage...
        assert deal_stays[-1][1] == owners[deal_id]  # ...and to its owner's name
        assert deal_stays[-1][3] is None  # the current stay is open


def _seconds(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds())
