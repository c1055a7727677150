"""The Singer SDK's standard target test suite against the embedded engine."""

from __future__ import annotations

import uuid

from singer_sdk.testing import get_target_test_class
from target_clickhouse.target import TargetClickHouse

from tests.support.clickhouse import CHDB_PATH

TestTargetClickHouseStandard = get_target_test_class(
    TargetClickHouse,
    config={"path": CHDB_PATH, "database": f"sdk_{uuid.uuid4().hex[:8]}"},
)
