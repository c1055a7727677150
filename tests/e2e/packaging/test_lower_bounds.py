"""The lowest versions our dependency ranges admit really work.

The wheels are installed into one fresh virtual environment with every lower bound the plugins
declare pinned (`singer-sdk>=0.54.2` becomes `singer-sdk==0.54.2`, and so on for requests,
clickhouse-connect, chdb and psycopg2-binary), then `--about` and a small sync through each target
run there. The newest versions are what every other test runs (a plain install resolves them).
uv (installed with Meltano) keeps this to a few seconds once its cache is warm.

`LOWER_BOUNDS_PYTHON=/path/to/python3.13 pytest tests/e2e/packaging/test_lower_bounds.py` runs the same on
another interpreter (the classifiers promise 3.11 to 3.13; CI runs 3.11).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.compare import QUERY
from tests.support.erp import query as erp_query
from tests.support.paths import UV
from tests.support.pipes import shell_pipe, write_json
from tests.support.release import PLUGINS, pyproject
from tests.zoho_sandbox import BOOKS_ORG

PYTHON = os.environ.get("LOWER_BOUNDS_PYTHON", sys.executable)

pytestmark = pytest.mark.skipif(
    not UV.exists(), reason="uv comes with the Meltano CLI (`make install`)"
)


def lower_bounds() -> dict[str, str]:
    """Every dependency of the three plugins -> the lowest version its range admits."""
    bounds: dict[str, str] = {}
    for plugin in PLUGINS:
        for line in pyproject(plugin)["dependencies"]:
            requirement = Requirement(line)
            (lowest,) = [s.version for s in requirement.specifier if s.operator == ">="]
            assert bounds.setdefault(requirement.name, lowest) == lowest, (
                f"{plugin}: {requirement.name} has another lower bound in another plugin"
            )
    return bounds


@pytest.fixture(scope="module")
def lowest(wheels, tmp_path_factory, bytecode_cache) -> Path:
    """The bin/ folder of a venv holding the three wheels on their lowest dependencies."""
    root = tmp_path_factory.mktemp("lowest")
    constraints = root / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in lower_bounds().items()))
    venv = root / "venv"
    subprocess.run([str(UV), "venv", "--quiet", "--python", PYTHON, str(venv)], check=True)
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            "--constraint",
            str(constraints),
            *map(str, wheels.values()),
        ],
        check=True,
        timeout=900,
    )
    return venv / "bin"


def test_the_lowest_versions_are_the_ones_installed(lowest):
    listing = subprocess.run(
        [
            str(lowest / "python"),
            "-c",
            (
                "import json, sys, importlib.metadata as m; "
                "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
            ),
            *lower_bounds(),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {name: Version(v) for name, v in json.loads(listing.stdout).items()}
    assert installed == {name: Version(v) for name, v in lower_bounds().items()}
    assert {"singer-sdk", "clickhouse-connect", "chdb", "psycopg2-binary"} <= set(lower_bounds())


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_about_works_on_the_lowest_versions(lowest, plugin):
    about = subprocess.run(
        [str(lowest / plugin), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(about.stdout)

    assert info["version"] == pyproject(plugin)["version"]
    assert info["sdk_version"] == lower_bounds()["singer-sdk"]


def test_a_crm_sync_into_clickhouse_works_on_the_lowest_versions(lowest, sandbox, tmp_path):
    tap = write_json(tmp_path / "tap.json", sandbox.tap_config(crm_modules=["Leads", "Accounts"]))
    target = write_json(tmp_path / "target.json", {"path": str(tmp_path / "ch")})

    shell_pipe(
        [str(lowest / "tap-zoho"), "--config", str(tap)],
        [str(lowest / "target-clickhouse"), "--config", str(target)],
    )

    for module in ("Leads", "Accounts"):
        sql = f"SELECT count() FROM `{module.lower()}_current`"
        result = subprocess.run(
            [str(lowest / "python"), "-c", QUERY, str(tmp_path / "ch"), sql],
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout)["rows"] == [[len(sandbox.records(module))]]


def test_a_products_sync_into_the_erp_works_on_the_lowest_versions(
    lowest, finance, erp_db, tmp_path
):
    tap = write_json(
        tmp_path / "tap.json",
        finance.tap_config(crm_enabled=False, books_organization_id=BOOKS_ORG),
    )
    target = write_json(tmp_path / "target.json", erp_db)

    shell_pipe(
        [str(lowest / "tap-zoho"), "--config", str(tap)],
        [str(lowest / "target-tsh-postgres"), "--config", str(target)],
    )

    items = finance.finance.orgs[BOOKS_ORG].items
    assert erp_query(erp_db, "SELECT count(*) FROM products")[0][0] == len(items)
