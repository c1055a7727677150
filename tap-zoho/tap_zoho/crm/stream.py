"""A CRM module as a Singer stream: the SDK's side of a :class:`~.reader.ModuleReader`.

The stream holds what the SDK asks of it (name, schema, keys, replication key, the catalog's
selection, state and bookmark, modules side by side); the reader does the reading.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_zoho.sdk.bookmarks import KeysetBookmarks
from tap_zoho.sdk.parallel import ParallelSync
from tap_zoho.sdk.stream import ZohoStream

from .limits import MAX_FIELDS_PER_CALL, MAX_PER_PAGE, MODIFIED_TIME
from .listing import ModuleListing
from .reader import ModuleReader
from .schema import module_schema

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_zoho.run_context import RunContext

    from .module import CrmModule, Selection
    from .reader import CrmRun


class CrmModuleStream(ParallelSync, KeysetBookmarks, ZohoStream):
    """Records of one CRM module, incremental on ``Modified_Time`` where the module has it."""

    primary_keys: t.ClassVar[list[str]] = ["id"]
    is_sorted = True

    def __init__(
        self, tap: Tap, run_context: RunContext, crm_run: CrmRun, module: CrmModule
    ) -> None:
        """The stream of ``module``, reading with what the CRM streams of the run share."""
        self.module = module
        self.crm_run = crm_run
        super().__init__(
            tap, run_context, name=module.stream_name, schema=module_schema(module.fields)
        )
        self.replication_key = MODIFIED_TIME if module.has_modified_time else None
        self.path = module.path

    def selection(self) -> Selection:
        """The fields the catalog selects, and the groups a list asks for."""
        return self.module.selection(
            lambda name: self.mask.get(("properties", name), True),
            int(self.config.get("fields_per_request", MAX_FIELDS_PER_CALL)),
        )

    @override
    def close(self) -> None:
        """The run's shared linking-module listings go with it."""
        self.crm_run.links.close()

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Live records, then deletions; a module that fails is reported and skipped."""
        selection = self.selection()
        per_page = int(self.config.get("page_size", MAX_PER_PAGE))
        listing = ModuleListing(
            self.client, self.module, selection, per_page=per_page, context=context
        )
        try:
            reader = ModuleReader(self, listing, self.crm_run)
            yield from self.isolated(self.module.api_name, reader.records())
        finally:
            listing.close()
