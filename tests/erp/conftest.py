"""PostgreSQL for the ERP target tests: one server per pytest session, one database per test."""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from tests.erp.pgserver import PgServer


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def erp_db(pg_server):
    name = f"erp_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(
        dbname="postgres", **{k: v for k, v in pg_server.dsn().items() if k != "database"}
    )
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return pg_server.dsn(name)


def connect(dsn):
    return psycopg2.connect(
        host=dsn["host"], port=dsn["port"], user=dsn["user"], dbname=dsn["database"]
    )
