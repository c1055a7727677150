"""The Meltano Hub definitions in hub/ are what each plugin's own `--about --format=json` says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.support.paths import REPO
from tests.support.release import PLUGINS, hub_definition

SCRIPT = REPO / "scripts" / "hub_definitions.py"
BIN = REPO / ".venv" / "bin"
# Meltano's setting kinds (`password` and `hidden` are deprecated: `sensitive`, `hidden` instead).
KINDS = {"string", "integer", "boolean", "date_iso8601", "options", "array", "object"}


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def about(plugin: str) -> dict:
    result = subprocess.run(
        [str(BIN / plugin), "--about", "--format=json"], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_committed_definitions_match_every_plugins_about():
    result = check("--check")
    assert result.returncode == 0, (
        f"{result.stderr[-4000:]}\nRegenerate: .venv/bin/python scripts/hub_definitions.py"
    )


def test_the_check_fails_naming_a_setting_the_yaml_lacks(tmp_path):
    assert check("--dir", str(tmp_path)).returncode == 0
    generated = tmp_path / "extractors" / "tap-zoho" / "tsh-erp.yml"
    definition = yaml.safe_load(generated.read_text())
    definition["settings"] = [s for s in definition["settings"] if s["name"] != "strict_modules"]
    generated.write_text(yaml.safe_dump(definition, sort_keys=False))

    result = check("--check", "--dir", str(tmp_path))

    assert result.returncode == 1
    assert "+- name: strict_modules" in result.stderr
    assert "1 of 3 differ" in result.stderr


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_a_definition_has_what_a_hub_submission_needs(plugin):
    definition = yaml.safe_load(hub_definition(plugin).read_text())
    info = about(plugin)

    for key in ("name", "namespace", "variant", "label", "description", "pip_url", "repo"):
        assert isinstance(definition[key], str), key
        assert definition[key], key
    assert definition["name"] == plugin
    assert definition["namespace"] == plugin.replace("-", "_")
    assert definition["pip_url"] == plugin  # the PyPI name: `meltano add` installs the release
    assert definition["executable"] == plugin
    assert definition["capabilities"] == sorted(info["capabilities"])
    assert "meltano_sdk" in definition["keywords"]
    names = [s["name"] for s in definition["settings"]]
    assert len(names) == len(set(names))
    for entry in definition["settings"]:
        assert entry["kind"] in KINDS, entry
        assert entry["label"], entry
        assert entry["description"], entry
        if entry["kind"] == "options":
            assert all({"label", "value"} <= set(option) for option in entry["options"])
    secrets = {n for n, s in info["settings"]["properties"].items() if s.get("secret")}
    sensitive = {s["name"] for s in definition["settings"] if s.get("sensitive")}
    assert secrets
    assert sensitive == secrets
