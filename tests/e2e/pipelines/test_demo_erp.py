"""`make demo-erp` keeps working: both runs succeed and the ERP rows change as the sandbox did."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.meltano import SKIP_REASON
from tests.support.paths import MELTANO, REPO

pytestmark = pytest.mark.skipif(not MELTANO.exists(), reason=SKIP_REASON)


def test_the_erp_demo_shows_the_repriced_the_deactivated_and_the_new_item():
    demo = subprocess.run(
        [sys.executable, "-m", "scripts.demo_erp"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert demo.returncode == 0, demo.stderr[-3000:]
    before, after = demo.stdout.split("ERP rows after:")
    assert re.search(r"new item +\d+ +\(not in the ERP yet\)", before)
    assert re.search(r"made inactive +\d+ .* active=True ", before)
    assert re.search(r"made inactive +\d+ .* active=False ", after)
    assert re.search(r"new item +\d+ +AF-NEW .* active=True ", after)
    old_price = re.search(r"price change +\d+ +\S+ .*? (\d+\.\d+) +active", before)[1]
    new_price = re.search(r"price change +\d+ +\S+ .*? (\d+\.\d+) +active", after)[1]
    assert float(new_price) > float(old_price)
    second_run = before.split("Second run:")[1]
    assert re.search(r"products +processed +3 +inserted +1 +updated +2 ", second_run)
