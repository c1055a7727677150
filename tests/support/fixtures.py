"""The suite's fixtures (registered by ``tests/conftest.py``).

Sandboxes are function-scoped: tests edit them, inject faults and count their calls. ``sandbox``
is the small world and ``full_sandbox`` the whole one (:mod:`tests.support.worlds` says which
test needs which).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import clickhouse, erp, release
from tests.support.live_service import LiveService
from tests.support.meltano import SKIP_REASON, project_copy
from tests.support.paths import MELTANO, REPO
from tests.support.pgserver import PgServer
from tests.support.sandbox_api import SandboxApi
from tests.support.worlds import small_world
from tests.zoho_sandbox import Sandbox


def _serve(sandbox: Sandbox) -> Iterator[Sandbox]:
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A freshly seeded sandbox (the small world) on an ephemeral port."""
    yield from _serve(Sandbox(specs=small_world()))


@pytest.fixture
def full_sandbox() -> Iterator[Sandbox]:
    """The whole seeded world (Leads past the 2,000-row position cap) on an ephemeral port."""
    yield from _serve(Sandbox())


@pytest.fixture
def finance() -> Iterator[Sandbox]:
    """A sandbox with Books and Inventory data only (no CRM seed: quick to build)."""
    yield from _serve(Sandbox(specs=[]))


@pytest.fixture
def api_sandbox() -> Sandbox:
    """The (not yet started) sandbox behind ``api``; a test module overrides it to shape it."""
    return Sandbox()


@pytest.fixture
def api(api_sandbox: Sandbox) -> Iterator[SandboxApi]:
    """``api_sandbox`` running, with a session signed in to it."""
    api_sandbox.start()
    try:
        yield SandboxApi.signed_in(api_sandbox)
    finally:
        api_sandbox.stop()


# ---------------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL server for the whole test process."""
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def erp_db(pg_server: PgServer) -> dict[str, Any]:
    """A fresh database per test; returns target-tsh-postgres connection settings."""
    return erp.new_database(pg_server)


# ---------------------------------------------------------------------- ClickHouse
@pytest.fixture(scope="session", autouse=True)
def _remove_the_chdb_path() -> Iterator[None]:
    yield
    shutil.rmtree(clickhouse.CHDB_PATH, ignore_errors=True)


@pytest.fixture
def database() -> str:
    """A fresh ClickHouse database name per test."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def ch() -> Iterator[Any]:
    """A client on this process's chDB path, closed after the test."""
    import clickhouse_connect

    client = clickhouse_connect.get_client(interface="chdb", path=clickhouse.CHDB_PATH)
    yield client
    client.close()


@pytest.fixture(params=clickhouse.LOAD_PATHS)
def load_path(request: pytest.FixtureRequest) -> str:
    """Run a test on both load paths: ClickHouse parsing raw records, and Python dicts."""
    return str(request.param)


@pytest.fixture
def target_config(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """``clickhouse.settings`` on the test's load path (raw unless it uses ``load_path``)."""
    path = request.getfixturevalue("load_path") if "load_path" in request.fixturenames else "raw"

    def settings(database: str, **overrides: Any) -> dict[str, Any]:
        return clickhouse.settings(database, load_path=path, **overrides)

    return settings


# ---------------------------------------------------------------------- Meltano and releases
@pytest.fixture
def meltano_project(tmp_path: Path) -> Path:
    """A Meltano project of this test's own (``tests.support.meltano.project_copy``)."""
    return project_copy(tmp_path / "project")


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The six release artefacts, built and checked (twine) by the `make release` script."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "scripts/release.py", "--outdir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert len(list(out.iterdir())) == 6
    return out


@pytest.fixture(scope="module")
def bytecode_cache() -> Iterator[None]:
    """Python may cache bytecode in the module's processes (PYTHONDONTWRITEBYTECODE unset).

    uv, which ``meltano install`` and the lower-bounds environment use, installs no ``.pyc``
    files: with the variable set (some machines set it) every process started in a fresh
    virtual environment compiles the SDK and the plugin again. The first one now writes the
    cache and the others read it; what they run is the same.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        yield


@pytest.fixture(scope="session")
def wheels(dist: Path) -> dict[str, Path]:
    """The wheel file of each plugin."""
    return release.wheels(dist)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, pg_server: PgServer) -> Iterator[LiveService]:
    """One running service (``meltano invoke``) with its sandbox, ERP and ClickHouse, shared by
    the service's hardening tests (one process: ``tests/support/scheduling.py``); they count
    runs from where they started."""
    if not MELTANO.exists():
        pytest.skip(SKIP_REASON)
    tmp = tmp_path_factory.mktemp("live-service")
    sandbox = Sandbox()
    sandbox.accounts.mints_per_window = 500  # the service's budget is raised alike (90 runs)
    sandbox.start()
    service = LiveService(sandbox, tmp, erp.new_database(pg_server))
    try:
        service.start()
        subscribed = service.cli("channels", "subscribe")  # the CRM job's modules
        assert subscribed.returncode == 0, subscribed.stderr[-2000:]
        yield service
    finally:
        service.stop()
        service.http.close()
        sandbox.stop()
