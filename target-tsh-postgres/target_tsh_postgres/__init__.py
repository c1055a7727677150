"""target-tsh-postgres: Zoho products, prices and customers into the TSH ERP's PostgreSQL."""

from importlib.metadata import PackageNotFoundError, version

# The one version, from pyproject.toml (the same as `--about` reports).
try:
    __version__ = version("target-tsh-postgres")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
