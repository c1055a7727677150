"""The released artefacts, not this checkout: wheels built as `make release` builds them, installed
by `meltano install` into fresh virtual environments of a Meltano project in a temporary folder,
and run as full Meltano jobs against the Zoho sandbox.

The project's plugin definitions are the Meltano Hub definitions in hub/ (so a user adding the
plugins from the Hub gets what is tested here), with `pip_url` pointing at the wheel files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.compare import query
from tests.support.meltano import (
    SKIP_REASON,
    assert_clickhouse_equals_sandbox,
    assert_erp_holds_the_books_organisation,
    erp_meltano_env,
    meltano,
    meltano_env,
)
from tests.support.paths import MELTANO, REPO
from tests.support.release import PLUGINS, hub_definition, pyproject
from tests.zoho_sandbox import BOOKS_ORG

# What a Hub definition carries for the Hub's pages only; meltano.yml has no place for it.
HUB_ONLY = {"variant", "definition", "domain_url", "maintenance_status", "keywords"}

pytestmark = pytest.mark.skipif(not MELTANO.exists(), reason=SKIP_REASON)


def plugin_definition(plugin: str, wheel: Path) -> dict:
    """The plugin's Hub definition, installed from ``wheel`` instead of PyPI."""
    _plugin_type, _ = PLUGINS[plugin]
    hub = yaml.safe_load(hub_definition(plugin).read_text())
    definition = {key: value for key, value in hub.items() if key not in HUB_ONLY}
    definition["pip_url"] = str(wheel)
    return definition


@pytest.fixture(scope="module")
def project(wheels, tmp_path_factory, bytecode_cache) -> Path:
    """A Meltano project outside the checkout whose three plugins come from the wheels."""
    root = tmp_path_factory.mktemp("wheel-project")
    tap = plugin_definition("tap-zoho", wheels["tap-zoho"])
    products = {
        "name": "tap-zoho-products",
        "inherit_from": "tap-zoho",
        "config": {
            "crm_enabled": False,
            "items_active_only": True,
            "books_organization_id": BOOKS_ORG,
        },
    }
    config = {
        "send_anonymous_usage_stats": False,
        "project_id": "wheel-e2e",
        "default_environment": "sandbox",
        "environments": [{"name": "sandbox"}],
        "plugins": {
            "extractors": [{**tap, "select": ["*.*"]}, products],
            "loaders": [
                {
                    **plugin_definition("target-clickhouse", wheels["target-clickhouse"]),
                    "config": {"table_prefix": "zoho_"},
                },
                plugin_definition("target-tsh-postgres", wheels["target-tsh-postgres"]),
            ],
        },
    }
    (root / "meltano.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {
        **os.environ,
        "PATH": f"{MELTANO.parent}:{os.environ['PATH']}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    meltano(env, "install", cwd=root, timeout=900)
    return root


def venv(root: Path, plugin: str) -> Path:
    plugin_type, _ = PLUGINS[plugin]
    return root / ".meltano" / plugin_type / plugin / "venv"


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_each_plugin_is_installed_from_its_wheel_not_from_the_checkout(project, plugin):
    _, package = PLUGINS[plugin]
    python = venv(project, plugin) / "bin" / "python"
    where = subprocess.run(
        [
            str(python),
            "-c",
            (
                f"import json, {package}, importlib.metadata as m; "
                f"print(json.dumps([{package}.__file__, m.distribution({plugin!r}).read_text("
                "'direct_url.json')]))"
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=project,
    )
    module_file, direct_url = json.loads(where.stdout)
    about = subprocess.run(
        [str(venv(project, plugin) / "bin" / plugin), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=project,
    )

    assert Path(module_file).is_relative_to(venv(project, plugin))
    assert not Path(module_file).is_relative_to(REPO)
    assert json.loads(direct_url)["url"].endswith("-py3-none-any.whl")
    assert "dir_info" not in json.loads(direct_url)  # not an editable (directory) install
    assert json.loads(about.stdout)["version"] == pyproject(plugin)["version"]


def test_the_crm_job_from_wheels_fills_clickhouse_then_runs_incrementally(
    project, sandbox, tmp_path
):
    env = meltano_env(sandbox, tmp_path)

    meltano(env, "run", "tap-zoho", "target-clickhouse", cwd=project)
    assert_clickhouse_equals_sandbox(sandbox, tmp_path / "clickhouse")

    lead = sorted(sandbox.records("Leads"))[0]
    sandbox.update("Leads", lead, {"Lead_Status": "Lost"})
    calls_before = sandbox.stats.requests["records"]
    meltano(env, "run", "tap-zoho", "target-clickhouse", cwd=project)

    assert sandbox.stats.requests["records"] - calls_before < 20  # state came back from Meltano
    rows = query(
        tmp_path / "clickhouse", f"SELECT Lead_Status FROM zoho_leads FINAL WHERE id = '{lead}'"
    )
    assert rows == [["Lost"]]


def test_the_products_job_from_wheels_loads_the_erp(project, finance, tmp_path, erp_db):
    env = erp_meltano_env(finance, tmp_path, erp_db)

    meltano(env, "run", "tap-zoho-products", "target-tsh-postgres", cwd=project)

    assert_erp_holds_the_books_organisation(finance, erp_db, tmp_path / "report.json")
