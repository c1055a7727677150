"""The plugins as released: their pyproject metadata and their wheels."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from tests.support.paths import REPO

#: Distribution name -> (Meltano plugin type, import package).
PLUGINS = {
    "tap-zoho": ("extractors", "tap_zoho"),
    "target-clickhouse": ("loaders", "target_clickhouse"),
    "target-tsh-postgres": ("loaders", "target_tsh_postgres"),
}


def pyproject(plugin: str) -> dict[str, Any]:
    """The `[project]` table of a plugin's pyproject.toml."""
    with (REPO / plugin / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["project"])


def wheels(dist: Path) -> dict[str, Path]:
    """The wheel file of each plugin in a folder of release artefacts."""
    return {
        plugin: dist / f"{package}-{pyproject(plugin)['version']}-py3-none-any.whl"
        for plugin, (_, package) in PLUGINS.items()
    }


def hub_definition(plugin: str) -> Path:
    """The Meltano Hub definition of a plugin (``hub/<plugin type>/<plugin>/tsh-erp.yml``)."""
    plugin_type, _ = PLUGINS[plugin]
    return REPO / "hub" / plugin_type / plugin / "tsh-erp.yml"
