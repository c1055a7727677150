"""Zoho CRM reference data as streams (``shared/zoho-api.md`` 2.4).

``crm-users``, ``crm-roles``, ``crm-profiles``, ``crm-territories``, ``crm-currencies``,
``crm-org``, ``crm-pipelines`` and ``crm-pipeline_stages``: the organisation's users, roles,
profiles, territories, currencies, the organisation itself, and the Deals pipelines with their
stages. The ``crm-`` prefix holds a character no module stream has (module streams are the
lowercased module API names), so the names never collide with a module's.

Discovery costs no call: the schemas are declared. A run costs about eight calls plus one per
Deals layout.
"""

from __future__ import annotations

import typing as t

from .base import PREFIX, ReferenceRun, ReferenceStream
from .pipelines import PipelinesStream, PipelineStagesStream
from .streams import CurrenciesStream, OrgStream, ProfilesStream, RolesStream, TerritoriesStream
from .users import UsersStream

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_zoho.run_context import RunContext

STREAMS: tuple[type[ReferenceStream], ...] = (
    UsersStream,
    RolesStream,
    ProfilesStream,
    TerritoriesStream,
    CurrenciesStream,
    OrgStream,
    PipelinesStream,
    PipelineStagesStream,
)
NAMES = tuple(PREFIX + cls.entity for cls in STREAMS)


def reference_streams(
    tap: Tap, run_context: RunContext, deals_fields: t.Mapping[str, dict[str, t.Any]] | None
) -> list[ReferenceStream]:
    """One stream per reference entity, sharing one :class:`ReferenceRun`.

    ``deals_fields`` is the Deals module's field metadata by API name when discovery read it
    (its ``Stage`` picklist gives the stages' probabilities), else None.
    """
    stage_values = None
    if deals_fields is not None:
        stage = deals_fields.get("Stage") or {}
        stage_values = list(stage.get("pick_list_values") or [])
    run = ReferenceRun(stage_values)
    return [cls(tap, run_context, run) for cls in STREAMS]


__all__ = ["NAMES", "PREFIX", "reference_streams"]
