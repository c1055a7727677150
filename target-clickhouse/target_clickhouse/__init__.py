"""target-clickhouse: a Singer target for ClickHouse (embedded chDB or any server)."""

from importlib.metadata import PackageNotFoundError, version

# The one version, from pyproject.toml (the same as `--about` reports).
try:
    __version__ = version("target-clickhouse")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
