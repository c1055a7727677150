"""The README's deployment advice: the example unit runs unprivileged; the threat model is there."""

from __future__ import annotations

import configparser
import re

from tests.support.paths import REPO

README = (REPO / "README.md").read_text()
SECTION = README[README.index("## Near-real-time sync: `zoho-sync-service`") :]
SECTION = SECTION[: SECTION.index("\n## ", 1)]


def test_the_example_systemd_unit_runs_as_an_unprivileged_user():
    (unit,) = re.findall(r"```ini\n(.*?)```", SECTION, flags=re.DOTALL)
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string(unit)
    service = parser["Service"]
    assert service.get("User", "root") not in {"root", "0", ""}
    assert service.get("Group", "root") not in {"root", "0", ""}
    assert service.get("NoNewPrivileges") == "yes"
    assert "meltano invoke zoho-sync-service serve --host 127.0.0.1" in service["ExecStart"]


def test_the_deployment_section_has_a_threat_model_proxy_and_rotation_advice():
    for heading in (
        "What an attacker on the internet can and cannot do",
        "Reverse proxy",
        "Rotating secrets",
    ):
        assert heading in SECTION
    assert "What Zoho signs" in SECTION
