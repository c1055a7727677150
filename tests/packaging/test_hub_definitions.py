"""The Meltano Hub definitions in hub/ are what each plugin's own `--about --format=json` says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "hub_definitions.py"
BIN = REPO / ".venv" / "bin"
DEFINITIONS = {
    "tap-zoho": REPO / "hub" / "extractors" / "tap-zoho" / "tsh-erp.yml",
    "target-clickhouse": REPO / "hub" / "loaders" / "target-clickhouse" / "tsh-erp.yml",
    "target-tsh-postgres": REPO / "hub" / "loaders" / "target-tsh-postgres" / "tsh-erp.yml",
}
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


@pytest.mark.parametrize("plugin", sorted(DEFINITIONS))
def test_a_definition_has_what_a_hub_submission_needs(plugin):
    definition = yaml.safe_load(DEFINITIONS[plugin].read_text())
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


def test_the_tap_definition_declares_state_selection_and_its_credentials():
    definition = yaml.safe_load(DEFINITIONS["tap-zoho"].read_text())
    settings = {s["name"]: s for s in definition["settings"]}

    assert {"catalog", "discover", "state", "about"} <= set(definition["capabilities"])
    assert definition["settings_group_validation"] == [
        ["client_id", "client_secret", "refresh_token"]
    ]
    assert settings["start_date"]["kind"] == "date_iso8601"
    assert settings["retry_backoff_seconds"]["kind"] == "integer"  # see KINDS in the script
    assert settings["crm_modules"]["kind"] == "array"
    assert settings["books_organization_id"]["kind"] == "string"  # an id or a list of ids
    assert settings["api_domain"]["value"] == "https://www.zohoapis.com"
    # Nested SDK settings are dotted names, as on the Hub; free-form objects stay objects.
    assert settings["batch_config.storage.root"]["kind"] == "string"
    assert "batch_config" not in settings
    assert settings["stream_maps"]["kind"] == "object"


def test_a_target_definition_lists_the_choices_of_an_enum_setting():
    definition = yaml.safe_load(DEFINITIONS["target-clickhouse"].read_text())
    json_as = next(s for s in definition["settings"] if s["name"] == "json_as")

    assert json_as["kind"] == "options"
    assert [o["value"] for o in json_as["options"]] == ["string", "json"]
    assert json_as["value"] == "string"
