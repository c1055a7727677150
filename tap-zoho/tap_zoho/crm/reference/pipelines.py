"""Deals pipelines and their stages (``shared/zoho-api.md`` 2.4): two streams, one read.

Pipelines belong to a Deals layout and the pipeline API needs its ``layout_id``, so a run lists
the Deals layouts (one call) and then each layout's pipelines (one call each; 204 when a layout
has none). Both streams are built from that one read, made by whichever of them syncs first.

* ``crm-pipelines``: one row per pipeline and layout, with its stages in ``maps``; key
  (``layout_id``, ``id``), because whether pipeline ids are unique across layouts is
  unconfirmed and one pipeline may serve several layouts.
* ``crm-pipeline_stages``: one row per stage of each pipeline; key (``layout_id``,
  ``pipeline_id``, ``id``). A stage's ``id`` is its value's id in the Deals ``Stage`` picklist, so
  the same stage sits in several pipelines, each time at that pipeline's ``sequence_number``.
  ``probability`` comes from that picklist (``GET /settings/fields?module=Deals``, unconfirmed:
  null when Zoho gives none), taken from discovery when the Deals module was discovered and
  otherwise read once (one call).
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_zoho.errors import ZohoApiError, ZohoError

from . import schema
from .base import CRM, Endpoint, ReferenceStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

LAYOUTS = Endpoint(
    f"{CRM}/settings/layouts", "layouts", "ZohoCRM.settings.layouts.READ", "Deals layouts"
)
PIPELINE = Endpoint(
    f"{CRM}/settings/pipeline",
    "pipeline",
    # ZohoCRM.settings.READ grants every other settings API; that it grants this one is
    # unconfirmed, so the scope to add is named.
    "ZohoCRM.settings.pipeline.READ",
    "Deals pipelines",
)
FIELDS = f"{CRM}/settings/fields"
READ = "pipelines"  # the key of the shared read in ReferenceRun.reads
Pair = tuple[dict[str, t.Any], dict[str, t.Any]]  # (layout, pipeline)


class PipelineRead(ReferenceStream):
    """A stream built from the Deals layouts' pipelines, read once a run for both streams."""

    endpoint = PIPELINE
    read_with = ("crm-pipelines", "crm-pipeline_stages")

    def pipelines(self) -> list[Pair]:
        """Every (layout, pipeline) pair; the first stream to ask makes the calls."""
        run = self.run
        with run.lock:
            done = run.reads.get(READ)
            if done is None:
                try:
                    done = self._read()
                except ZohoError as exc:
                    done = exc  # the other stream is empty for the same reason
                run.reads[READ] = done
        if isinstance(done, ZohoError):
            raise done
        return t.cast("list[Pair]", done)

    def _read(self) -> list[Pair]:
        pairs: list[Pair] = []
        for layout in self.listing(LAYOUTS, {"module": "Deals"}):
            for page in self.pages(PIPELINE, {"layout_id": str(layout["id"])}):
                pairs += [(layout, pipeline) for pipeline in page]
        return pairs


class PipelinesStream(PipelineRead):
    """Deals pipelines with their stages, one row per layout they belong to."""

    entity = "pipelines"
    declared_schema = schema.PIPELINES
    primary_keys: t.ClassVar[list[str]] = ["layout_id", "id"]

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """One row per (layout, pipeline)."""
        for layout, pipeline in self.pipelines():
            yield {**pipeline, "layout_id": layout["id"], "layout_name": layout.get("name")}


class PipelineStagesStream(PipelineRead):
    """The stages of every pipeline, with their position and probability."""

    entity = "pipeline_stages"
    declared_schema = schema.PIPELINE_STAGES
    primary_keys: t.ClassVar[list[str]] = ["layout_id", "pipeline_id", "id"]

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """One row per stage of each (layout, pipeline)."""
        pairs = self.pipelines()
        probability = self._probabilities()
        for layout, pipeline in pairs:
            for stage in pipeline.get("maps") or []:
                if not isinstance(stage, dict) or stage.get("id") is None:
                    continue
                yield {
                    **stage,
                    "layout_id": layout["id"],
                    "pipeline_id": pipeline["id"],
                    "pipeline_display_value": pipeline.get("display_value"),
                    "pipeline_actual_value": pipeline.get("actual_value"),
                    "probability": probability.get(str(stage["id"])),
                }

    def _probabilities(self) -> dict[str, t.Any]:
        """Stage id -> probability, from the Deals ``Stage`` picklist."""
        values = self.run.stage_values
        if values is None:
            values = []
            try:
                body = self.get_json(FIELDS, {"module": "Deals"}) or {}
            except ZohoApiError as exc:
                self.logger.info("%s: no stage probabilities (%s)", self.name, exc)
            else:
                fields = [f for f in body.get("fields") or [] if isinstance(f, dict)]
                stage = next((f for f in fields if f.get("api_name") == "Stage"), {})
                values = stage.get("pick_list_values") or []
        return {
            str(value.get("id")): value.get("probability")
            for value in values
            if isinstance(value, dict)
        }
