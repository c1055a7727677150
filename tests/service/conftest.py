"""One live service for the package's hardening tests (``live``): see :mod:`tests.service.live`.

One sandbox, one ERP database, one ClickHouse directory and one service for the whole package; the
tests read its history through ``GET /runs`` and count runs from where they started.
"""

from __future__ import annotations

import pytest

from tests.conftest import new_database
from tests.e2e.test_meltano import MELTANO
from tests.service.live import LiveService
from tests.zoho_sandbox import Sandbox


@pytest.fixture(scope="package")
def live(tmp_path_factory, pg_server):
    if not MELTANO.exists():
        pytest.skip("the Meltano CLI is installed by `make test` (.venv-meltano)")
    tmp = tmp_path_factory.mktemp("live-service")
    sandbox = Sandbox()
    sandbox.accounts.mints_per_window = 500  # the service's budget is raised alike (90 runs)
    sandbox.start()
    service = LiveService(sandbox, tmp, new_database(pg_server))
    try:
        service.start()
        subscribed = service.cli("channels", "subscribe")  # the CRM job's modules
        assert subscribed.returncode == 0, subscribed.stderr[-2000:]
        yield service
    finally:
        service.stop()
        sandbox.stop()
