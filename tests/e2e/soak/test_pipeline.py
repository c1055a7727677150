"""The soak's pipe keeps what Meltano would keep: the last STATE the target printed before a kill."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.soak.pipeline import Kill, comparable, run_pipe

# A "tap" writing a numbered STATE every 50 ms for ever, and a "target" echoing each line.
TAP = [
    sys.executable,
    "-c",
    (
        "import json, sys, time\n"
        "for n in range(10**6):\n"
        "    print(json.dumps({'type': 'STATE', 'value': {'n': n}}), flush=True)\n"
        "    time.sleep(0.05)\n"
    ),
]
TARGET = [
    sys.executable,
    "-c",
    (
        "import json, sys\n"
        "for line in sys.stdin:\n"
        "    print(json.dumps(json.loads(line)['value']), flush=True)\n"
    ),
]


def test_a_killed_tap_leaves_the_last_state_the_target_printed(tmp_path: Path) -> None:
    result = run_pipe(TAP, TARGET, tmp_path, {"n": -1}, kill=Kill("tap", 1.0), timeout=30)
    assert result.killed == "tap"
    assert result.tap_rc == -9
    assert result.target_rc == 0  # the target drained its input and ended by itself
    assert result.state is not None
    assert result.state["n"] == result.states_printed - 1 > 5
    assert result.progressed
    assert (tmp_path / "state.json").read_text() == '{"n": -1}'  # the run resumed from it


def test_a_killed_target_stops_the_tap_and_keeps_the_start_state_when_nothing_came(
    tmp_path: Path,
) -> None:
    silent_target = [sys.executable, "-c", "import time; time.sleep(60)"]
    result = run_pipe(TAP, silent_target, tmp_path, {"n": 3}, kill=Kill("target", 0.5))
    assert result.killed == "target"
    assert result.target_rc == result.tap_rc == -9
    assert result.state == {"n": 3}
    assert not result.progressed
    assert result.seconds < 10


def test_progress_markers_are_not_progress() -> None:
    start = {"bookmarks": {"leads": {"replication_key_value": "2024-01-01"}}}
    marked = {"bookmarks": {"leads": {**start["bookmarks"]["leads"], "progress_markers": {}}}}
    assert comparable(marked) == comparable(start)
