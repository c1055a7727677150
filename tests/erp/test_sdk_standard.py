"""The Singer SDK's standard target tests that apply to a fixed-schema target.

target-tsh-postgres only loads item, contact and price-list streams; the standard suite's
streams are ignored by design, so these tests prove the target reads any valid Singer input
(schema changes, unknown streams, state, nested and odd records) without failing.
"""

from __future__ import annotations

import atexit
import uuid

import psycopg2
from singer_sdk.testing import get_target_test_class
from target_tsh_postgres.target import TargetTshPostgres

from tests.erp.pgserver import PgServer

_SERVER = PgServer().start()
atexit.register(_SERVER.stop)
_DB = f"sdk_{uuid.uuid4().hex[:8]}"
_admin = psycopg2.connect(host="127.0.0.1", port=_SERVER.port, user="postgres", dbname="postgres")
_admin.autocommit = True
with _admin.cursor() as _cur:
    _cur.execute(f'CREATE DATABASE "{_DB}"')
_admin.close()

TestTargetTshPostgresStandard = get_target_test_class(TargetTshPostgres, config=_SERVER.dsn(_DB))
