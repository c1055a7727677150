"""Which stream loads which table: one stream per table, for the whole run."""

from __future__ import annotations

from . import ddl
from .errors import SchemaChangeError


class TableClaims:
    """Names each stream's table and refuses a second stream for the same table."""

    def __init__(self, prefix: str) -> None:
        """``prefix`` is the target's ``table_prefix``."""
        self.prefix = prefix
        self._owners: dict[tuple[str, str], str] = {}

    def claim(self, database: str, stream: str) -> str:
        """The table of ``stream`` in ``database``."""
        table = ddl.table_name(self.prefix, stream)
        owner = self._owners.setdefault((database, table), stream)
        if owner != stream:
            msg = (
                f"streams {owner!r} and {stream!r} both map to table {table!r}; "
                "rename one with a stream map alias"
            )
            raise SchemaChangeError(msg)
        return table
