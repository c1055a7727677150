"""Fixtures of the end-to-end tests that use the released artefacts."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

# Distribution name -> (Meltano plugin type, import package).
PLUGINS = {
    "tap-zoho": ("extractors", "tap_zoho"),
    "target-clickhouse": ("loaders", "target_clickhouse"),
    "target-tsh-postgres": ("loaders", "target_tsh_postgres"),
}


def pyproject(plugin: str) -> dict:
    """The `[project]` table of a plugin's pyproject.toml."""
    with (REPO / plugin / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
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


@pytest.fixture(scope="session")
def wheels(dist) -> dict[str, Path]:
    """The wheel file of each plugin."""
    return {
        plugin: dist / f"{package}-{pyproject(plugin)['version']}-py3-none-any.whl"
        for plugin, (_, package) in PLUGINS.items()
    }
