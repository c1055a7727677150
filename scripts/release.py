"""`make release`: build every plugin's sdist and wheel into dist/ and check them; upload nothing.

For each plugin, `python -m build` makes the sdist and then the wheel *from that sdist* (so a
file missing from the sdist breaks the wheel here, not on a user's machine). Then it checks that
there are exactly two artefacts per plugin, all at the version CHANGELOG.md names as the latest
release, and that `twine check --strict` accepts them (metadata and README rendering, as PyPI
would).

The end-to-end wheel tests call this same script (`--outdir`), so CI builds the artefacts the way a
release does.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGINS = ("tap-zoho", "target-clickhouse", "target-tsh-postgres")
RELEASE_HEADING = re.compile(r"^## \[(?P<version>\d[^\]]*)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)


class ReleaseError(RuntimeError):
    """A release check failed; the message names the artefact and what is wrong."""


def plugin_version(plugin: str) -> str:
    """The version in a plugin's pyproject.toml (the one its `--about` reports once installed)."""
    with (REPO / plugin / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["version"]


def changelog_version() -> str:
    """The newest released version in CHANGELOG.md (the first `## [x.y.z] - date` heading)."""
    match = RELEASE_HEADING.search((REPO / "CHANGELOG.md").read_text())
    if not match:
        raise ReleaseError("CHANGELOG.md: no '## [x.y.z] - YYYY-MM-DD' release heading")
    return match["version"]


def build(outdir: Path) -> list[Path]:
    """Build the sdist and wheel of every plugin into ``outdir``; return the artefacts."""
    outdir.mkdir(parents=True, exist_ok=True)
    for plugin in PLUGINS:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "build", "--outdir", str(outdir), str(REPO / plugin)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ReleaseError(f"{plugin}: python -m build failed:\n{result.stderr[-3000:]}")
    return sorted(outdir.iterdir())


def expected_artefacts(version: str) -> set[str]:
    """The six file names a release of ``version`` consists of."""
    names = set()
    for plugin in PLUGINS:
        stem = f"{plugin.replace('-', '_')}-{version}"
        names |= {f"{stem}.tar.gz", f"{stem}-py3-none-any.whl"}
    return names


def check(artefacts: list[Path]) -> None:
    """Raise ReleaseError unless the artefacts are exactly one coherent, PyPI-valid release."""
    version = changelog_version()
    for plugin in PLUGINS:
        if plugin_version(plugin) != version:
            raise ReleaseError(
                f"{plugin}/pyproject.toml: version {plugin_version(plugin)} but CHANGELOG.md's "
                f"latest release is {version}"
            )
    found = {path.name for path in artefacts}
    expected = expected_artefacts(version)
    if found != expected:
        raise ReleaseError(
            f"dist: expected {sorted(expected)}; missing {sorted(expected - found)}, "
            f"unexpected {sorted(found - expected)}"
        )
    twine = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, artefacts)],
        capture_output=True,
        text=True,
        check=False,
    )
    if twine.returncode != 0:
        raise ReleaseError(f"twine check failed:\n{twine.stdout}{twine.stderr}")


def main() -> int:
    """Build into a fresh ``--outdir`` (default dist/), check, print what was made."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=REPO / "dist")
    outdir = parser.parse_args().outdir
    if outdir.exists():
        shutil.rmtree(outdir)
    try:
        artefacts = build(outdir)
        check(artefacts)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    print(f"{len(artefacts)} artefacts in {outdir}, twine check passed (nothing uploaded):")
    for path in artefacts:
        print(f"  {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
