"""Access-token lifetimes: Zoho's lifetime fields and the renewal margin (tap_zoho.api.auth)."""

from __future__ import annotations

import pytest
from tap_zoho.api.auth import _lifetime_seconds, expiry_margin


def test_token_lifetime_reads_seconds_and_the_legacy_millisecond_form():
    assert _lifetime_seconds({"expires_in": 3600}) == 3600
    assert _lifetime_seconds({"expires_in": 3600000, "expires_in_sec": 3600}) == 3600
    assert _lifetime_seconds({"expires_in": 3600000}) == 3600


@pytest.mark.parametrize(
    ("lifetime", "margin"), [(3600, 120), (1200, 120), (600, 60), (60, 6), (5, 0.5)]
)
def test_the_renewal_margin_scales_down_for_short_lifetimes(lifetime, margin):
    assert expiry_margin(lifetime) == pytest.approx(margin)
