"""Discovery of the CRM modules the API can read (``shared/zoho-api.md`` 2.1-2.2).

Module and field metadata are read through a client of their own: discovery needs no stream.
Modules that cannot be read (not API-supported, no permission, no field metadata) are reported in
the run summary instead; ``crm_modules`` names that do not exist too. Subform modules are no
streams: their rows are delivered inside their parents' subform field (3.3).
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_zoho.errors import ModuleUnavailableError

from .completion.budget import DetailBudget
from .completion.plan import CompletionFields
from .completion.shared import Wanted
from .limits import CRM_BASE, MAX_FIELDS_PER_CALL
from .module import CrmModule
from .reader import CrmRun
from .stream import CrmModuleStream

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from tap_zoho.api.client import ZohoClient
    from tap_zoho.run_context import RunContext


class CrmMetadata:
    """Module and field metadata, as ``/settings`` serves them."""

    def __init__(self, client: ZohoClient) -> None:
        """Read through ``client``."""
        self.client = client

    def modules(self) -> list[dict[str, t.Any]]:
        """Every module of ``/settings/modules``."""
        body = self.client.get_json(f"{CRM_BASE}/settings/modules") or {}
        return list(body.get("modules") or [])

    def fields(self, module: str) -> list[dict[str, t.Any]] | None:
        """Field metadata of a module; None when Zoho has none for it (204, pitfall 11)."""
        body = self.client.get_json(f"{CRM_BASE}/settings/fields", {"module": module})
        if body is None:
            return None
        return list(body.get("fields") or [])


def crm_streams(tap: Tap, run_context: RunContext) -> list[CrmModuleStream]:
    """One stream per readable CRM module, sharing the run's budget of per-record reads."""
    config = tap.config
    summary = run_context.summary
    metadata = CrmMetadata(run_context.client("crm", tap.logger, f"{CRM_BASE}/settings"))
    crm_run = CrmRun(summary, DetailBudget(int(config.get("crm_detail_reads_max_per_run", 10_000))))
    wanted = config.get("crm_modules")
    modules = {m.get("api_name"): m for m in metadata.modules() if m.get("api_name")}
    if wanted:
        for name in wanted:
            if name not in modules:
                summary.failed(name, "no such CRM module (check the API name)")
        names = [n for n in wanted if n in modules]
    else:
        names = list(modules)
    streams: list[CrmModuleStream] = []
    workers = max(1, int(config.get("max_parallel_modules", 4)))
    with ThreadPoolExecutor(max_workers=workers) as pool:  # field metadata side by side too
        fields = {
            n: pool.submit(metadata.fields, n)
            for n in names
            if modules[n].get("api_supported") and modules[n].get("generated_type") != "subform"
        }
    for name in names:
        module = modules[name]
        if module.get("generated_type") == "subform":
            tap.logger.info("Module %s is a subform: its rows are in its parent's records.", name)
            continue
        if not module.get("api_supported"):
            summary.failed(
                name, "not supported by the CRM API (api_supported: false)", expected=True
            )
            continue
        try:
            module_fields = fields[name].result()
        except ModuleUnavailableError as exc:
            summary.failed(name, str(exc), expected=True)
            tap.logger.warning("Skipping module %s: %s", name, exc)
            continue
        if not module_fields:
            summary.failed(name, "no field metadata (HTTP 204)", expected=True)
            tap.logger.warning("Skipping module %s: Zoho returned no field metadata", name)
            continue
        streams.append(CrmModuleStream(tap, run_context, crm_run, CrmModule(module, module_fields)))
    crm_run.links.resolve_with(lambda: shared_linking_modules(streams, config))
    return streams


def shared_linking_modules(
    streams: list[CrmModuleStream], config: t.Mapping[str, t.Any]
) -> dict[str, Wanted]:
    """Linking modules this run reads both as streams and for their parent's completion.

    Asked once the catalog is applied: both the linking module's stream and the parent's field
    must be selected, completion on (:mod:`.completion.shared`).
    """
    if not config.get("crm_detail_reads", True):
        return {}
    selected = {s.module.api_name: s for s in streams if s.selected}
    wanted: dict[str, Wanted] = {}
    for parent in selected.values():
        fields = CompletionFields.for_fields(parent.module.fields, set(parent.selection().fields))
        for source in fields.sources:
            stream = selected.get(str(source.module)) if source.kind == "linking" else None
            if stream is None or stream.module.has_modified_time:
                continue
            names = [*stream.selection().fields, source.connected, source.lookup]
            names = list(dict.fromkeys(names))
            if len(names) <= MAX_FIELDS_PER_CALL:
                module = parent.module
                wanted[str(source.module)] = Wanted(
                    str(source.module), tuple(names), module.path, module.has_modified_time
                )
    return wanted
