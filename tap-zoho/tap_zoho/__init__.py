"""tap-zoho: a Singer tap for Zoho CRM on the Meltano Singer SDK."""

from importlib.metadata import PackageNotFoundError, version

# The one version, from pyproject.toml (the same as `--about` reports).
try:
    __version__ = version("tap-zoho")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
