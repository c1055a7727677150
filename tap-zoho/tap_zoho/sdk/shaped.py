"""Streams whose rows are shaped to a SCHEMA that grows with the keys Zoho sends.

Books/Inventory rows carry custom fields the tap cannot know in advance, and the reference data of
CRM (users, the organisation) carries keys that vary by edition and version. A
:class:`ShapedStream` conforms each row to its SCHEMA with a :class:`~tap_zoho.shaping.RowShaper`
(declared types kept, unknown keys declared from their values) and, when the SCHEMA grew, writes
the new SCHEMA before the record that needs it. These endpoints answer every field whatever the
catalog selects, so any deselection is pruned from the records.
"""

from __future__ import annotations

import copy
import typing as t
from functools import cached_property

from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import SchemaMessage
from typing_extensions import override

from tap_zoho.shaping import RowShaper

from .stream import ZohoStream

if t.TYPE_CHECKING:
    from singer_sdk.mapper import StreamMap


class ShapedStream(ZohoStream):
    """Rows conformed to a SCHEMA that grows; a grown SCHEMA is announced before its record."""

    def shaped(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """Conform the row to the SCHEMA; announce a grown SCHEMA before the record carrying it.

        The tap's mapper re-registers the grown schema (stream maps and flattening are rebuilt
        from it, through its public ``register_raw_stream_schema``) and the SCHEMA message of
        each rebuilt map is written before the SDK writes this record (it is yielded after).
        """
        if self._shaper.shape(row):
            self.run_context.output.mapper.register_raw_stream_schema(
                self.name, self._selected_schema(), self.primary_keys
            )
            self.announce_schema()
        return row

    def announce_schema(self) -> None:
        """One SCHEMA message per stream map (none for a removed stream), as the SDK writes them."""
        bookmark_keys = [self.replication_key] if self.replication_key else None
        for stream_map in self.stream_maps:
            if isinstance(stream_map, RemoveRecordTransform):
                continue
            self.run_context.output.write_message(
                SchemaMessage(
                    stream_map.stream_alias,
                    stream_map.transformed_schema,
                    stream_map.transformed_key_properties,
                    bookmark_keys,
                )
            )

    def _selected_schema(self) -> dict[str, t.Any]:
        """The schema without the properties the catalog deselects (new ones follow the stream)."""
        schema = copy.deepcopy(self.schema)
        mask = self.mask
        schema["properties"] = {
            name: prop for name, prop in schema["properties"].items() if mask[("properties", name)]
        }
        return schema

    @property
    @override
    def stream_maps(self) -> list[StreamMap]:
        """The mapper's current maps for this stream (rebuilt whenever the schema grows)."""
        return self.run_context.output.mapper.stream_maps[self.name]

    @cached_property
    @override
    def prunes_nested_properties(self) -> bool:
        """The endpoint answers every field whatever was selected: prune any deselection."""
        return any(len(crumb) >= 2 and not selected for crumb, selected in self.mask.items())  # noqa: PLR2004

    @cached_property
    def _shaper(self) -> RowShaper:
        return RowShaper(self.schema, self.name, self.logger)
