"""The one home of test helpers: runners, ports, fixtures, SDK pins and shared scenarios.

Test modules import from here and from ``tests.zoho_sandbox`` only, never from another test
module; ``tests/conftest.py`` registers :mod:`tests.support.fixtures` and :mod:`tests.support.tiers`
as pytest plugins.

- :mod:`.paths`: the checkout and the installed console scripts.
- :mod:`.tap`: tap-zoho in this process (``run_tap``) or as its CLI (``run_cli``).
- :mod:`.clickhouse`: target-clickhouse in this process, on this process's chDB path.
- :mod:`.compare`: ClickHouse data directories read from a helper process, compared with Zoho's.
- :mod:`.erp`: target-tsh-postgres in this process, ERP messages and queries.
- :mod:`.pgserver`: the throwaway PostgreSQL server.
- :mod:`.pipes`: ``tap | target`` as two real processes.
- :mod:`.meltano`: the Meltano CLI against the sandbox.
- :mod:`.release`: the plugins' release metadata and artefacts.
- :mod:`.ports`: a free loopback port.
- :mod:`.sandbox_api`: a signed-in HTTP session on a sandbox, for tests of the sandbox itself.
- :mod:`.sdk_assumptions`: checks of the private singer-sdk members the plugins rely on.
- :mod:`.keyset_scenarios`, :mod:`.finance_compare`, :mod:`.soak`: scenarios and expectations
  shared by several plugins' tests.
"""
