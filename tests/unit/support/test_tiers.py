"""The tiers: a test's folder names its tier, and a unit test cannot reach a socket or a process."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiers import TESTS, PureTestError, tier_of


def test_a_unit_test_cannot_open_a_connection_or_bind_a_port():
    with pytest.raises(PureTestError, match="tests/integration or tests/e2e"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    with socket.socket() as s, pytest.raises(PureTestError):
        s.bind(("127.0.0.1", 0))


def test_a_unit_test_cannot_start_a_process():
    with pytest.raises(PureTestError, match="a subprocess"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_this_test_carries_the_unit_tier_of_its_folder(request):
    assert request.node.get_closest_marker("unit") is not None
    assert request.node.get_closest_marker("integration") is None


@pytest.mark.parametrize(
    ("path", "tier"),
    [
        ("unit/tap_zoho/test_keyset.py", "unit"),
        ("integration/target_clickhouse/test_loading.py", "integration"),
        ("e2e/pipelines/test_meltano.py", "e2e"),
        ("support/tap.py", None),
        ("zoho_sandbox/server.py", None),
    ],
)
def test_the_tier_of_a_test_is_the_first_folder_under_tests(path, tier):
    assert tier_of(TESTS / path) == tier
    assert tier_of(Path("/elsewhere") / path) is None
