"""Release metadata: one version per release, bounded dependencies, READMEs that render on PyPI."""

from __future__ import annotations

import re

import pytest

from tests.support.paths import REPO
from tests.support.release import PLUGINS, pyproject

RELEASE_HEADING = re.compile(r"^## \[(\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)
# A Markdown link or image whose target is not an absolute URL: it would 404 on PyPI.
RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?!https?://|mailto:)([^)\s]+)")


def test_the_changelog_latest_release_is_the_version_of_every_plugin():
    changelog = (REPO / "CHANGELOG.md").read_text()
    releases = RELEASE_HEADING.findall(changelog)

    assert "## [Unreleased]" in changelog
    assert releases
    assert {pyproject(plugin)["version"] for plugin in PLUGINS} == {releases[0]}


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_the_long_description_has_only_absolute_links(plugin):
    readme = (REPO / plugin / pyproject(plugin)["readme"]).read_text()

    assert RELATIVE_LINK.findall(readme) == []


def test_the_relative_link_pattern_catches_what_pypi_cannot_follow():
    text = "[a](../README.md) ![b](img/x.png) [c](https://x.org/a) [d](#settings)"
    assert RELATIVE_LINK.findall(text) == ["../README.md", "img/x.png", "#settings"]


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_every_dependency_has_a_lower_and_an_upper_bound(plugin):
    from packaging.requirements import Requirement

    for line in pyproject(plugin)["dependencies"]:
        operators = {spec.operator for spec in Requirement(line).specifier}
        assert ">=" in operators, line
        assert "<" in operators, line
