"""What completing one CRM module's values needs from the run, handed down by its stream."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from tap_zoho.summary import RunSummary

    from .budget import DetailBudget
    from .record_reads import Getter
    from .shared import SharedLinks


@dataclass(frozen=True)
class CompletionRun:
    """What completing one module's values needs from the run, handed down by its stream."""

    module: str
    path: str
    get_json: Getter
    logger: logging.Logger
    summary: RunSummary
    budget: DetailBudget
    enabled: bool
    cap: int
    per_page: int
    has_modified_time: bool
    clock: Callable[[], int]  # Zoho's clock (epoch seconds): when a refusal was met
    links: SharedLinks | None = None  # linking modules listed once for stream and completion
