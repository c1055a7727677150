"""Deterministic seed data: standard and custom modules covering every CRM data type.

Values follow the "record JSON" column of section 2.3 of ``shared/zoho-api.md``. The same seed and
sizes always produce the same ids, values and timestamps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .deal_pipelines import deal_pipeline, deal_stage, pipeline_picklist, stage_picklist
from .reference_seed import record_users
from .seed_views import register_views
from .store import BASE_INSTANT, CrmStore, FieldMeta, Module

Gen = Callable[[random.Random, int], Any]

# The users ``GET /users`` lists first (:mod:`.reference_seed`): records are owned by all six (one of
# them deleted, one inactive); the first two create and modify them.
USERS = record_users()


def _lookup(module: str) -> Gen:
    return lambda r, i: {"name": f"{module} {i % 97}", "id": str(5843104000000400000 + i % 97)}


def _dt(r: random.Random, i: int) -> str:
    offset = r.randint(0, 400 * 86400)
    return _iso(int(BASE_INSTANT.timestamp()) - offset)


def _iso(epoch: int) -> str:
    from datetime import datetime, timedelta, timezone

    zone = timezone(timedelta(hours=-4))
    return datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TypeSpec:
    """How a CRM data type looks in metadata and in records."""

    data_type: str
    json_type: str
    gen: Gen
    length: int | None = None
    decimal_place: int | None = None
    extra: tuple[tuple[str, Any], ...] = ()


def _money(r: random.Random, i: int) -> float:
    return round(r.uniform(0, 100000), 2)


TYPE_SPECS: dict[str, TypeSpec] = {
    "text": TypeSpec("text", "string", lambda r, i: f"Text {i} ünïcode", 255),
    "textarea": TypeSpec("textarea", "string", lambda r, i: f"line one {i}\nline two", 32000),
    "mediumtext": TypeSpec("mediumtext", "string", lambda r, i: "m" * (i % 40), 5000),
    "email": TypeSpec("email", "string", lambda r, i: f"user{i}@example.org", 100),
    "phone": TypeSpec("phone", "string", lambda r, i: f"+44 20 7946 {i % 10000:04d}", 30),
    "website": TypeSpec("website", "string", lambda r, i: f"https://example.org/{i}", 255),
    "picklist": TypeSpec(
        "picklist",
        "string",
        lambda r, i: r.choice(["Contacted", "Qualified", "Lost", "-None-"]),
        extra=(
            (
                "pick_list_values",
                [
                    {"display_value": v, "actual_value": v, "id": str(n)}
                    for n, v in enumerate(["Contacted", "Qualified", "Lost", "-None-"])
                ],
            ),
        ),
    ),
    "multiselectpicklist": TypeSpec(
        "multiselectpicklist",
        "jsonarray",
        lambda r, i: r.sample(["Email", "Phone", "Post", "Fax"], k=i % 3) or None,
    ),
    "integer": TypeSpec("integer", "integer", lambda r, i: r.randint(-1000, 100000), 9),
    "bigint": TypeSpec("bigint", "string", lambda r, i: str(9007199254740993 + i), 18),
    "double": TypeSpec("double", "double", lambda r, i: round(r.uniform(-1000, 1000), 3), 16, 3),
    "decimal": TypeSpec("decimal", "double", lambda r, i: round(r.uniform(0, 99999), 4), 18, 4),
    "currency": TypeSpec(
        "currency",
        "double",
        _money,
        16,
        2,
        (("currency", {"rounding_option": "normal", "precision": 2}),),
    ),
    "percent": TypeSpec("percent", "double", lambda r, i: round(r.uniform(0, 100), 2), 5, 2),
    "boolean": TypeSpec("boolean", "boolean", lambda r, i: i % 2 == 0),
    "date": TypeSpec("date", "string", lambda r, i: f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"),
    "datetime": TypeSpec("datetime", "string", _dt),
    "lookup": TypeSpec(
        "lookup",
        "jsonobject",
        _lookup("Accounts"),
        extra=(("lookup", {"module": {"api_name": "Accounts", "id": "1"}, "api_name": "Account"}),),
    ),
    "ownerlookup": TypeSpec("ownerlookup", "jsonobject", lambda r, i: USERS[i % len(USERS)]),
    "userlookup": TypeSpec("userlookup", "jsonobject", lambda r, i: USERS[(i + 1) % 2]),
    # Links and subform rows get their ids, Parent_Id and times from the store (views.py).
    "multiuserlookup": TypeSpec(
        "multiuserlookup",
        "jsonarray",
        lambda r, i: [{"Users_Field": USERS[(i + k) % 2]} for k in range(1 + i % 2)],
    ),
    "multiselectlookup": TypeSpec(
        "multiselectlookup",
        "jsonarray",
        lambda r, i: [
            {"Contacts_Link": {"name": f"Contact {i + k}", "id": str(5843104000000702000 + i + k)}}
            for k in range(i % 3)
        ],
    ),
    "multi_module_lookup": TypeSpec(
        "multi_module_lookup",
        "jsonobject",
        lambda r, i: {
            "name": f"Lead {i}",
            "id": str(5843104000000500000 + i),
            "module": {"api_name": "Leads", "id": "5843104000000002175"},
        },
    ),
    "subform": TypeSpec(
        "subform",
        "jsonarray",
        lambda r, i: [
            {"Item": f"Bolt {k}", "Qty": k + 1, "Unit_Price": round(1.5 * (k + 1), 2)}
            for k in range(i % 3)
        ],
    ),
    "autonumber": TypeSpec(
        "autonumber",
        "string",
        lambda r, i: f"INV-{i:05d}",
        extra=(("auto_number", {"prefix": "INV-", "suffix": "", "start_number": 1}),),
    ),
    "formula": TypeSpec(
        "formula",
        "double",
        lambda r, i: round(i * 1.25, 2),
        16,
        2,
        (("formula", {"return_type": "double", "expression": "Amount*1.25"}),),
    ),
    "formula_text": TypeSpec(
        "formula",
        "string",
        lambda r, i: f"F-{i}",
        extra=(("formula", {"return_type": "text", "expression": "Concat('F-', id)"}),),
    ),
    "formula_datetime": TypeSpec(
        "formula",
        "string",
        _dt,
        extra=(("formula", {"return_type": "datetime", "expression": "Now()"}),),
    ),
    "rollup_summary": TypeSpec(
        "rollup_summary",
        "double",
        lambda r, i: float(i % 50),
        16,
        2,
        (("rollup_summary", {"return_type": "currency", "expression": {"function": "SUM"}}),),
    ),
    "fileupload": TypeSpec(
        "fileupload",
        "jsonarray",
        lambda r, i: (
            [
                {
                    "File_Name__s": f"spec{i}.pdf",
                    "Size__s": "20480",
                    "File_Id__s": f"f{i}",
                    "id": str(5843104000001200000 + i),
                }
            ]
            if i % 4 == 0
            else None
        ),
    ),
    "imageupload": TypeSpec(
        "imageupload",
        "jsonarray",
        lambda r, i: (
            [
                {
                    "File_Name__s": f"front{i}.jpg",
                    "Size__s": "53211",
                    "File_Id__s": f"i{i}",
                    "Sequence_Number__s": 1,
                    "id": str(5843104000001300000 + i),
                }
            ]
            if i % 5 == 0
            else None
        ),
    ),
    "profileimage": TypeSpec("profileimage", "string", lambda r, i: f"{i:032x}" if i % 3 else None),
    "event_reminder": TypeSpec("event_reminder", "string", _dt),
    "ALARM": TypeSpec(
        "ALARM",
        "jsonobject",
        lambda r, i: {
            "ALARM": "FREQ=NONE;ACTION=EMAIL;TRIGGER=DATE-TIME:2024-01-05T09:00:00+05:30"
        },
    ),
    "RRULE": TypeSpec(
        "RRULE",
        "jsonobject",
        lambda r, i: {"RRULE": "FREQ=DAILY;INTERVAL=1;UNTIL=2024-02-01;DTSTART=2024-01-05"},
    ),
    "multireminder": TypeSpec(
        "multireminder", "jsonarray", lambda r, i: [{"period": "minutes", "unit": 15}]
    ),
    "consent_lookup": TypeSpec(
        "consent_lookup",
        "jsonobject",
        lambda r, i: {"id": str(5843104000001400000 + i), "Consent_Through": "Email"},
    ),
    "linetax": TypeSpec(
        "linetax",
        "jsonarray",
        lambda r, i: [
            {"name": "VAT", "percentage": 20, "value": 4.0, "id": "1", "display_name": "VAT (20 %)"}
        ],
    ),
    "tag": TypeSpec(
        "text", "jsonarray", lambda r, i: [{"name": "vip", "id": "77"}] if i % 2 else []
    ),
    "address_street": TypeSpec(
        "text",
        "string",
        lambda r, i: f"{i} Harbour Road",
        250,
        extra=(("parent_field", {"api_name": "Billing_Address", "id": "1"}),),
    ),
    "richtext": TypeSpec(
        "textarea",
        "string",
        lambda r, i: _rich_text(i),
        50000,
        extra=(("textarea", {"type": "rich_text"}),),
    ),
}


def _is_converted(i: int) -> bool:
    """About 4% of Leads are converted (Get Records hides them unless ``converted=both``)."""
    return i % 25 == 3


SPLIT_AT = 499  # an emoji's high surrogate at this UTF-16 unit: a cut at 500 splits it


def _rich_text(i: int) -> str | None:
    """HTML of every length that matters: past 500 characters, exactly 500, short, none.

    Every other long one holds an emoji across UTF-16 units 500 and 501, so a list's cut at
    500 units keeps its high surrogate alone (contract 3.2).
    """
    kind = i % 4
    if kind == 3:
        return None
    body = f"<p>Note {i}: <b>ünïcode</b> &amp; more</p>"
    target = {0: 1200 + i % 50, 1: 500, 2: 80}[kind]
    filler = "<p>" + "x" * max(0, target - len(body) - 7) + "</p>"
    if kind == 0 and i % 8 == 0:  # every character before it is one unit long
        return (body + filler)[:SPLIT_AT] + "\U0001f642" + (body + filler)[SPLIT_AT:]
    return (body + filler)[:target] if kind else body + filler


def _line_items(r: random.Random, i: int) -> list[dict[str, Any]]:
    rows = []
    for k in range(1 + i % 4):
        quantity = float(1 + (i + k) % 5)
        price = round(r.uniform(1, 500), 2)
        discount = round(price * quantity * 0.05, 2) if k % 2 else 0.0
        rows.append(
            {
                "Product_Name": {
                    "name": f"Product {(i + k) % 40}",
                    "id": str(5843104000000800000 + (i + k) % 40),
                },
                "Quantity": quantity,
                "List_Price": price,
                "Discount": discount,
                "Total": round(price * quantity, 2),
                "Net_Total": round(price * quantity - discount, 2),
                "Line_Tax": [{"name": "VAT", "percentage": 20.0, "value": 0.0, "id": "1"}],
                "Description": f"line {k} of {i}",
                "Sequence_Number": k + 1,
            }
        )
    return rows


# Types only some modules carry (not part of the every-type custom fields of Leads).
SPECIAL_SPECS: dict[str, TypeSpec] = {
    # Deals move through the pipelines and stages of ``/settings/pipeline`` (2.4).
    "deal_stage": TypeSpec(
        "picklist",
        "string",
        lambda r, i: deal_stage(i),
        extra=(("pick_list_values", stage_picklist()),),
    ),
    "deal_pipeline": TypeSpec(
        "picklist",
        "string",
        lambda r, i: deal_pipeline(i),
        extra=(("pick_list_values", pipeline_picklist()),),
    ),
    "converted": TypeSpec("boolean", "boolean", lambda r, i: _is_converted(i)),
    "converted_time": TypeSpec(
        "datetime", "string", lambda r, i: _dt(r, i) if _is_converted(i) else None
    ),
    "line_items": TypeSpec("subform", "jsonarray", _line_items),
    # Two rows a parent, for benchmarks of large subforms (50,000 parents, 100,000 rows).
    "subform_pair": TypeSpec(
        "subform",
        "jsonarray",
        lambda r, i: [
            {"Item": f"Bolt {k}", "Qty": k + 1, "Unit_Price": round(1.5 * (k + 1), 2)}
            for k in range(2)
        ],
    ),
}


# Every data type of section 2.3 once, as custom fields of the wide module.
ALL_TYPES = list(TYPE_SPECS)


def _meta(name: str, spec: TypeSpec, *, custom: bool) -> FieldMeta:
    return FieldMeta(
        api_name=name,
        data_type=spec.data_type,
        json_type=spec.json_type,
        length=spec.length,
        decimal_place=spec.decimal_place,
        custom_field=custom,
        extra=dict(spec.extra),
    )


SYSTEM_FIELDS = [
    ("Owner", "ownerlookup"),
    ("Created_By", "userlookup"),
    ("Modified_By", "userlookup"),
    ("Created_Time", "datetime"),
    ("Modified_Time", "datetime"),
]


@dataclass
class ModuleSpec:
    """How to build one seeded module."""

    api_name: str
    records: int
    standard: list[tuple[str, str]]
    custom_types: list[str]
    generated_type: str = "default"
    api_supported: bool = True
    permitted: bool = True
    has_field_metadata: bool = True
    with_timestamps: bool = True
    tie_group: int = 0
    seconds_apart: int = 37
    unapproved_every: int = 0  # every n-th record is still in an approval process


def field_types(spec: ModuleSpec) -> list[tuple[str, str, bool]]:
    """``(api_name, type key, custom)`` of every field of a module spec, in metadata order."""
    system = SYSTEM_FIELDS if spec.with_timestamps else []
    out = [(name, type_key, False) for name, type_key in [*spec.standard, *system]]
    for n, type_key in enumerate(spec.custom_types):
        out.append((f"{type_key.title().replace('_', '')}_{n + 1}", type_key, True))
    return out


def build_fields(spec: ModuleSpec) -> tuple[list[FieldMeta], dict[str, TypeSpec]]:
    """Field metadata and value generators for a module spec."""
    metas: list[FieldMeta] = []
    gens: dict[str, TypeSpec] = {}
    for name, type_key, custom in field_types(spec):
        type_spec = TYPE_SPECS.get(type_key) or SPECIAL_SPECS[type_key]
        metas.append(_meta(name, type_spec, custom=custom))
        gens[name] = type_spec
    return metas, gens


def populate(store: CrmStore, spec: ModuleSpec, seed: int = 7) -> Module:
    """Create the module and its records with deterministic values and timestamps.

    Timestamps start a year before the clock's base and are ``seconds_apart`` apart; the first
    ``tie_group`` records share one second, like a bulk import.
    """
    fields, gens = build_fields(spec)
    module = store.add_module(
        Module(
            api_name=spec.api_name,
            module_id=str(5843104000000002000 + len(store.modules)),
            generated_type=spec.generated_type,
            api_supported=spec.api_supported,
            permitted=spec.permitted,
            has_field_metadata=spec.has_field_metadata,
            fields=fields,
        )
    )
    register_views(store, spec.api_name, fields, [key for _, key, _ in field_types(spec)])
    rng = random.Random(f"{seed}:{spec.api_name}")
    start = int(BASE_INSTANT.timestamp()) - 365 * 86400
    skip = {"Created_Time", "Modified_Time"}
    for i in range(spec.records):
        values = {name: gen.gen(rng, i) for name, gen in gens.items() if name not in skip}
        offset = 0 if i < spec.tie_group else (i - spec.tie_group + 1) * spec.seconds_apart
        rid = store.put_record(spec.api_name, values, modified_epoch=start + offset)
        if spec.unapproved_every and i % spec.unapproved_every == spec.unapproved_every // 2:
            module.unapproved.add(rid)
    return module


LEADS_STANDARD = [
    ("Last_Name", "text"),
    ("First_Name", "text"),
    ("Company", "text"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Website", "website"),
    ("Lead_Status", "picklist"),
    ("Description", "textarea"),
    ("Annual_Revenue", "currency"),
    ("No_of_Employees", "integer"),
    ("Email_Opt_Out", "boolean"),
    ("Tag", "tag"),
    ("Street", "address_street"),
    ("Record_Image", "profileimage"),
    ("Converted__s", "converted"),
    ("Converted_Date_Time", "converted_time"),
]


def _inventory_module(name: str, line_items: str, records: int) -> ModuleSpec:
    """Quotes, Invoices, Sales_Orders, Purchase_Orders: line items only on a single GET."""
    return ModuleSpec(
        name,
        records,
        [
            ("Subject", "text"),
            ("Account_Name", "lookup"),
            ("Grand_Total", "currency"),
            ("Terms_and_Conditions", "richtext"),
            (line_items, "line_items"),
        ],
        [],
        unapproved_every=9,
    )


def default_specs(scale: float = 1.0) -> list[ModuleSpec]:
    """The standard seeded world (tests/zoho_sandbox/README.md says what each module proves)."""

    def n(count: int) -> int:
        return max(1, int(count * scale))

    wide_custom = ALL_TYPES + ALL_TYPES[:12]  # > 50 fields in total with the standard ones
    return [
        ModuleSpec(
            "Leads", n(2300), LEADS_STANDARD, wide_custom, tie_group=n(450), unapproved_every=40
        ),
        ModuleSpec(
            "Accounts",
            n(300),
            [
                ("Account_Name", "text"),
                ("Website", "website"),
                ("Annual_Revenue", "currency"),
                ("Rating", "picklist"),
                ("Employees", "integer"),
            ],
            ["decimal", "date", "multiselectpicklist"],
        ),
        ModuleSpec(
            "Contacts",
            n(250),
            [
                ("Last_Name", "text"),
                ("Email", "email"),
                ("Account_Name", "lookup"),
                ("Date_of_Birth", "date"),
            ],
            ["boolean", "percent"],
        ),
        ModuleSpec(
            "Deals",
            n(120),
            [
                ("Deal_Name", "text"),
                ("Amount", "currency"),
                ("Pipeline", "deal_pipeline"),
                ("Stage", "deal_stage"),
                ("Closing_Date", "date"),
                ("Account_Name", "lookup"),
            ],
            ["subform", "multiselectlookup", "richtext"],
            unapproved_every=15,
        ),
        ModuleSpec(
            "Price_Books",
            n(15),
            [("Price_Book_Name", "text"), ("Active", "boolean"), ("Pricing_Details", "subform")],
            [],
        ),
        ModuleSpec(
            "Projects_X",
            n(60),
            [("Name", "text")],
            ["currency", "datetime", "lookup", "bigint"],
            generated_type="custom",
        ),
        ModuleSpec("Campaigns", 0, [("Campaign_Name", "text")], []),
        _inventory_module("Quotes", "Quoted_Items", n(60)),
        _inventory_module("Invoices", "Invoiced_Items", n(40)),
        _inventory_module("Sales_Orders", "Ordered_Items", n(40)),
        _inventory_module("Purchase_Orders", "Purchased_Items", n(30)),
        ModuleSpec("Forecasts", n(20), [("Name", "text")], [], permitted=False),
        ModuleSpec("Visits", 0, [("Name", "text")], [], api_supported=False),
        ModuleSpec("Approvals", 0, [("Name", "text")], [], api_supported=False),
        ModuleSpec(
            "Contacts_X_Deals",
            n(40),
            [("Contacts", "lookup"), ("Deals", "lookup")],
            [],
            generated_type="linking",
            with_timestamps=False,
        ),
        ModuleSpec("Social", n(5), [("Name", "text")], [], has_field_metadata=False),
    ]


def wide_module_spec(name: str, fields: int, records: int) -> ModuleSpec:
    """A custom module with exactly ``fields`` fields (system ones included), for benchmarks."""
    base = [("Name", "text")]
    custom_count = max(0, fields - len(base) - len(SYSTEM_FIELDS))
    cycle = [
        "text",
        "currency",
        "integer",
        "datetime",
        "lookup",
        "multiselectpicklist",
        "boolean",
        "decimal",
        "date",
        "email",
    ]
    custom = [cycle[k % len(cycle)] for k in range(custom_count)]
    return ModuleSpec(name, records, base, custom, generated_type="custom", seconds_apart=3)


def detail_module_spec(name: str, records: int) -> ModuleSpec:
    """A Quotes-like module (line items, rich text) whose lists leave values out, for benchmarks."""
    return _inventory_module(name, "Quoted_Items", records)


COMPLETION_LEADS_CUSTOM = ["subform", "multiselectlookup", "multiuserlookup", "richtext"]


def completion_specs(
    leads: int, quotes: int, *, seconds_apart: int = 3, subform_pairs: bool = False
) -> list[ModuleSpec]:
    """Leads with a subform, multi-select and multi-user lookups and rich text, and Quotes with
    line items and rich text: the values lists leave out, each with its own module (3.3).

    ``subform_pairs``: every Lead holds two subform rows (default: 0, 1 or 2).
    """
    custom = list(COMPLETION_LEADS_CUSTOM)
    if subform_pairs:
        custom[0] = "subform_pair"
    return [
        ModuleSpec(
            "Leads",
            leads,
            LEADS_STANDARD,
            custom,
            unapproved_every=40,
            seconds_apart=seconds_apart,
        ),
        ModuleSpec(
            "Quotes",
            quotes,
            [
                ("Subject", "text"),
                ("Account_Name", "lookup"),
                ("Grand_Total", "currency"),
                ("Terms_and_Conditions", "richtext"),
                ("Quoted_Items", "line_items"),
            ],
            [],
            unapproved_every=9,
            seconds_apart=seconds_apart,
        ),
    ]


def seed_store(store: CrmStore, specs: list[ModuleSpec], seed: int = 7) -> None:
    """Populate ``store`` with every spec, then start the clock after the newest record."""
    for spec in specs:
        populate(store, spec, seed)
    store.clock.set_at_least(int(BASE_INSTANT.timestamp()))
    # Recycle-bin history so the first deleted-records call has something to page.
    leads = store.modules.get("Leads")
    if leads and len(leads.records) > 10:
        for rid in list(leads.records)[-3:]:
            store.delete_record("Leads", rid)
