"""What the Meltano Hub definitions in hub/ declare: state, selection, credentials, enum choices."""

from __future__ import annotations

import yaml

from tests.support.release import hub_definition


def test_the_tap_definition_declares_state_selection_and_its_credentials():
    definition = yaml.safe_load(hub_definition("tap-zoho").read_text())
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
    definition = yaml.safe_load(hub_definition("target-clickhouse").read_text())
    json_as = next(s for s in definition["settings"] if s["name"] == "json_as")

    assert json_as["kind"] == "options"
    assert [o["value"] for o in json_as["options"]] == ["string", "json"]
    assert json_as["value"] == "string"
