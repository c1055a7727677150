"""The two Meltano jobs the service drives, and how a selection becomes a ``meltano run``.

A CRM job's selection is a set of CRM module API names (``crm_modules``); a finance job's is a set
of resources (``items``, ``contacts``, ``pricebooks``), read from both Books and Inventory streams.
``None`` means everything the job is configured for.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .runner import RunSpec, env_name

if TYPE_CHECKING:
    from pathlib import Path

FINANCE_RESOURCES = ("items", "contacts", "pricebooks")
FINANCE_FAMILIES = ("books", "inventory")


@dataclass(frozen=True)
class Job:
    """A Meltano job and the plugins whose settings the service overrides."""

    name: str
    kind: Literal["crm", "finance"]
    extractor: str
    loader: str | None = None
    allowed_modules: frozenset[str] | None = None

    def configured_modules(self) -> frozenset[str] | None:
        """The CRM modules this job may read: the service's ``crm_modules``, else the tap's."""
        if self.allowed_modules is not None or self.kind != "crm":
            return self.allowed_modules
        return _configured_modules(self.extractor)

    def narrow(self, selection: frozenset[str] | None) -> frozenset[str] | None:
        """Keep only what this job reads (its configured CRM modules, when it names them)."""
        allowed = self.configured_modules()
        if allowed is None:
            return selection
        return allowed if selection is None else selection & allowed

    @property
    def plugins(self) -> tuple[str, ...]:
        """The plugins the service knows this job runs (the project may name more)."""
        return (self.extractor, self.loader) if self.loader else (self.extractor,)

    def spec(
        self,
        selection: frozenset[str] | None,
        options: dict[str, Any],
        *,
        force: bool,
        report_dir: Path,
    ) -> RunSpec:
        """The Meltano invocation for one run of this job."""
        env: dict[str, str] = {}
        tap = env_name(self.extractor)
        report_path = None
        if self.kind == "crm":
            if selection is not None:
                env[f"{tap}_CRM_MODULES"] = json.dumps(sorted(selection))
                # A run for changed modules: the reference data (users, roles, pipelines, about
                # ten credits a run) waits for the job's next whole run.
                env[f"{tap}_CRM_REFERENCE_DATA"] = "false"
        else:
            select = finance_select(selection, sync_images=options.get("sync_images", True))
            if select is not None:
                env[f"{tap}__SELECT"] = json.dumps(select)
            if options.get("active_only") is not None:
                env[f"{tap}_ITEMS_ACTIVE_ONLY"] = _bool(options["active_only"])
            if options.get("reconcile_deletions") is not None:
                env[f"{tap}_ITEMS_RECONCILE_DELETIONS"] = _bool(options["reconcile_deletions"])
            if self.loader:
                target = env_name(self.loader)
                if options.get("with_stock_only") is not None:
                    env[f"{target}_WITH_STOCK_ONLY"] = _bool(options["with_stock_only"])
                if options.get("batch_size") is not None:
                    env[f"{target}_BATCH_SIZE_ROWS"] = str(int(options["batch_size"]))
                report_dir.mkdir(parents=True, exist_ok=True)
                report_path = report_dir / f"{self.name}-report.json"
                env[f"{target}_REPORT_PATH"] = str(report_path)
        return RunSpec(
            job=self.name,
            env=env,
            full_refresh=bool(options.get("full_refresh")),
            force=force,
            report_path=report_path,
        )


def finance_select(selection: frozenset[str] | None, *, sync_images: bool) -> list[str] | None:
    """Meltano ``select`` rules for finance resources; None keeps the project's own rules."""
    if selection is None and sync_images:
        return None
    resources = sorted(selection) if selection is not None else list(FINANCE_RESOURCES)
    rules = [f"{family}_{resource}.*" for resource in resources for family in FINANCE_FAMILIES]
    if not sync_images and "items" in resources:
        rules += [f"!{family}_items.image_url" for family in FINANCE_FAMILIES]
    return rules


def _configured_modules(extractor: str) -> frozenset[str] | None:
    raw = os.environ.get(f"{env_name(extractor)}_CRM_MODULES", "").strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return frozenset(value) if isinstance(value, list) and value else None


def _bool(value: Any) -> str:
    return "true" if value else "false"
