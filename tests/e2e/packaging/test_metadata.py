"""Each plugin's `--about` and its package report the pyproject version."""

from __future__ import annotations

import importlib
import json
import subprocess

import pytest

from tests.support.paths import REPO
from tests.support.release import PLUGINS, pyproject


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_about_and_the_package_report_the_pyproject_version(plugin):
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / plugin), "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = json.loads(result.stdout)

    assert info["version"] == pyproject(plugin)["version"]
    assert importlib.import_module(PLUGINS[plugin][1]).__version__ == info["version"]
    assert info["supported_python_versions"] == ["3.11", "3.12", "3.13"]
