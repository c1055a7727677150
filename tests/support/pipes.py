"""``tap | target`` as two real processes, the way a shell pipe runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.support.paths import BIN


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON and return the path."""
    path.write_text(json.dumps(data))
    return path


def shell_pipe(
    tap: list[str], target: list[str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``tap | target`` as two real processes; asserts both succeed; returns the target's run."""
    producer = subprocess.Popen(tap, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        consumer = subprocess.run(
            target,
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        producer.stdout.close()  # a target that died early must not leave the tap blocked on a write
    assert consumer.returncode == 0, consumer.stderr[-3000:]
    assert producer.wait(timeout=timeout) == 0
    return consumer


def tap_args(tmp_path: Path, tap_config: dict[str, Any], state: dict | None = None) -> list[str]:
    """The ``tap-zoho`` command line for a config (and a state), written into ``tmp_path``."""
    args = [str(BIN / "tap-zoho"), "--config", str(write_json(tmp_path / "tap.json", tap_config))]
    if state:
        args += ["--state", str(write_json(tmp_path / "state.json", state))]
    return args


def pipe_into_clickhouse(tmp_path: Path, tap_config: dict, state: dict | None) -> dict:
    """``tap-zoho | target-clickhouse`` into ``tmp_path/ch``; the last STATE the target wrote."""
    target_config = write_json(
        tmp_path / "target.json", {"path": str(tmp_path / "ch"), "table_prefix": "zoho_"}
    )
    target = shell_pipe(
        tap_args(tmp_path, tap_config, state),
        [str(BIN / "target-clickhouse"), "--config", str(target_config)],
    )
    return json.loads(target.stdout.strip().splitlines()[-1])


def pipe_into_erp(
    tmp_path: Path, tap_config: dict, target_config: dict, state: dict | None = None
) -> tuple[dict, dict]:
    """``tap-zoho | target-tsh-postgres``: the last STATE and the run summary the target wrote."""
    target_args = [
        str(BIN / "target-tsh-postgres"),
        "--config",
        str(write_json(tmp_path / "target.json", target_config)),
    ]
    target = shell_pipe(tap_args(tmp_path, tap_config, state), target_args)
    summary = json.loads([x for x in target.stderr.splitlines() if x.startswith("{")][-1])
    return json.loads(target.stdout.strip().splitlines()[-1]), summary
