"""What the reference endpoints of the sandbox may do: features, permissions, readings (2.4).

The defaults are the stricter reading of each point the contract marks unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ReferenceOptions:
    """Features, permissions and the readings of the contract's unconfirmed points."""

    territories_enabled: bool = True  # off: 400 FEATURE_NOT_ENABLED
    multi_currency: bool = True  # off: 403 CURRENCIES_NOT_ENABLED and ``mc_status: false``
    refused: set[str] = field(default_factory=set)  # endpoints the API user's profile may not read
    # Parameters answered 400 INVALID_DATA: the reading in which Zoho takes a list of several
    # ``include_types`` / ``include_inner_details`` values in another form (unconfirmed).
    refused_params: set[str] = field(default_factory=set)
    # Unconfirmed readings (2.4); the defaults are the stricter ones.
    settings_read_grants_pipeline: bool = False  # ZohoCRM.settings.READ covers the pipeline API
    all_users_include_deleted: bool = False  # type=AllUsers lists deleted users too
    users_not_modified_status: int = 304  # nothing newer than If-Modified-Since (or 204)
    users_modified_since_inclusive: bool = False  # If-Modified-Since compares >= (not >)
    users_newest_first: bool = False  # users listed newest Modified_Time first (not in id order)
    deletion_touches_user: bool = False  # deleting a user moves its Modified_Time
    shared_pipeline: bool = False  # one pipeline id under two Deals layouts
    sub_pipelines: bool = False  # pipelines carry ``child_available`` / ``parent``, one child
