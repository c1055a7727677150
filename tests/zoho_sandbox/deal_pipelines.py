"""Deals pipelines and their stages (``shared/zoho-api.md`` 2.4), shared by records and settings.

Three Deals layouts: "Standard" with two pipelines, "Renewals" with one, "Partner Deals" with none
(its pipeline call answers 204). Twelve stages; a stage's id is the id of its value in the Deals
``Stage`` picklist, so the same stage sits in several pipelines with one id: "Negotiation/Review"
is 6th, 2nd and 3rd. The seeded Deals records carry these pipelines and stages (:mod:`.seed`), so
deals join to stages on sandbox data.
"""

from __future__ import annotations

import copy
from typing import Any

# ----------------------------------------------------------------------------- pipelines
FORECAST_CATEGORIES = {
    "Pipeline": "5843104000000007092",
    "Commit": "5843104000000007093",
    "Closed": "5843104000000007094",
    "Omitted": "5843104000000007095",
}
# id, name, forecast type, forecast category, probability (of the Deals Stage picklist value)
STAGES: list[tuple[str, str, str, str, int]] = [
    ("5843104000000007101", "Qualification", "Open", "Pipeline", 10),
    ("5843104000000007102", "Needs Analysis", "Open", "Pipeline", 20),
    ("5843104000000007103", "Value Proposition", "Open", "Pipeline", 40),
    ("5843104000000007104", "Id. Decision Makers", "Open", "Pipeline", 60),
    ("5843104000000007105", "Proposal/Price Quote", "Open", "Commit", 75),
    ("5843104000000007111", "Negotiation/Review", "Open", "Commit", 90),
    ("5843104000000007106", "Closed Won", "Closed Won", "Closed", 100),
    ("5843104000000007107", "Closed Lost", "Closed Lost", "Omitted", 0),
    ("5843104000000007119", "Renewal Due", "Open", "Pipeline", 50),
    ("5843104000000007120", "Renewal Quote Sent", "Open", "Commit", 70),
    ("5843104000000007121", "Renewed", "Closed Won", "Closed", 100),
    ("5843104000000007122", "Churned", "Closed Lost", "Omitted", 0),
]
STAGE_BY_NAME = {stage[1]: stage for stage in STAGES}
LAYOUT_STANDARD = "5843104000000091023"
LAYOUT_RENEWALS = "5843104000000091025"
LAYOUT_PARTNER = "5843104000000091027"  # a Deals layout without pipelines: 204
# pipeline id, name, default, Deals layout, stage names in order
PIPELINES: list[tuple[str, str, bool, str, list[str]]] = [
    (
        "5843104000055809080",
        "Standard",
        True,
        LAYOUT_STANDARD,
        [
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
            "Closed Lost",
        ],
    ),
    (
        "5843104000055809083",
        "Fast Track",
        False,
        LAYOUT_STANDARD,
        ["Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"],
    ),
    (
        "5843104000055809086",
        "Renewals",
        True,
        LAYOUT_RENEWALS,
        ["Renewal Due", "Renewal Quote Sent", "Negotiation/Review", "Renewed", "Churned"],
    ),
]
DEALS_LAYOUTS = [
    (LAYOUT_STANDARD, "Standard", "active"),
    (LAYOUT_RENEWALS, "Renewals", "active"),
    (LAYOUT_PARTNER, "Partner Deals", "inactive"),
]


def deal_pipeline(i: int) -> str:
    """The pipeline of the ``i``-th seeded deal."""
    return PIPELINES[i % len(PIPELINES)][1]


def deal_stage(i: int) -> str:
    """The stage of the ``i``-th seeded deal: one of its pipeline's stages."""
    stages = PIPELINES[i % len(PIPELINES)][4]
    return stages[(i // len(PIPELINES)) % len(stages)]


def stage_picklist(*, probabilities: bool = True) -> list[dict[str, Any]]:
    """The Deals ``Stage`` picklist values (``GET /settings/fields?module=Deals``)."""
    values = []
    for n, (sid, name, forecast_type, category, probability) in enumerate(STAGES):
        value: dict[str, Any] = {
            "display_value": name,
            "actual_value": name,
            "id": sid,
            "sequence_number": n + 1,
            "forecast_type": forecast_type,
            "forecast_category": {"name": category, "id": FORECAST_CATEGORIES[category]},
            "colour_code": None,
            "type": "used",
        }
        if probabilities:
            value["probability"] = probability
        values.append(value)
    return values


def pipeline_picklist() -> list[dict[str, Any]]:
    """The Deals ``Pipeline`` picklist values, each with its stages in ``maps``."""
    return [
        {
            "display_value": name,
            "actual_value": name,
            "id": pid,
            "type": "used",
            "maps": [
                {
                    "api_name": "Stage",
                    "pick_list_values": [
                        {"display_value": s, "actual_value": s, "id": STAGE_BY_NAME[s][0]}
                        for s in stages
                    ],
                }
            ],
        }
        for pid, name, _, _, stages in PIPELINES
    ]


def pipelines_by_layout() -> dict[str, list[dict[str, Any]]]:
    """Each Deals layout's pipelines as ``GET /settings/pipeline?layout_id=`` answers them."""
    by_layout: dict[str, list[dict[str, Any]]] = {}
    for pid, name, default, layout, stages in PIPELINES:
        maps = []
        for position, stage in enumerate(stages):
            sid, _, forecast_type, category, _ = STAGE_BY_NAME[stage]
            maps.append(
                {
                    "display_value": stage,
                    "actual_value": stage,
                    "id": sid,
                    "sequence_number": position + 1,
                    "forecast_type": forecast_type,
                    "forecast_category": {"name": category, "id": FORECAST_CATEGORIES[category]},
                }
            )
        by_layout.setdefault(layout, []).append(
            {
                "display_value": name,
                "actual_value": name,
                "id": pid,
                "default": default,
                "maps": maps,
            }
        )
    return by_layout


def pipelines_of(
    by_layout: dict[str, list[dict[str, Any]]], layout: str, *, shared: bool, sub: bool
) -> list[dict[str, Any]]:
    """A layout's pipelines under the readings of two unconfirmed points (2.4).

    ``shared``: pipeline ids are not unique across layouts (the Renewals layout also lists the
    Standard pipeline). ``sub``: pipelines carry ``child_available`` / ``parent`` and the Standard
    pipeline has a child.
    """
    pipelines = copy.deepcopy(by_layout.get(layout, []))
    if shared and layout == LAYOUT_RENEWALS:
        pipelines.append({**copy.deepcopy(by_layout[LAYOUT_STANDARD][0]), "default": False})
    if not sub:
        return pipelines
    for pipeline in pipelines:
        pipeline["child_available"] = False
        pipeline["parent"] = None
    if layout == LAYOUT_STANDARD:
        parent = pipelines[0]
        parent["child_available"] = True
        child = copy.deepcopy(parent)
        child.update(
            id="5843104000055809089",
            display_value="Standard - Enterprise",
            actual_value="Standard - Enterprise",
            default=False,
            parent={"name": parent["display_value"], "id": parent["id"]},
        )
        child["child_available"] = False
        pipelines.append(child)
    return pipelines
