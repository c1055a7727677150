"""The tests that share an expensive fixture are one unit of work; every other test is its own."""

from __future__ import annotations

from tests.support.paths import REPO
from tests.support.scheduling import SHARED, SharedFixtureScheduling


def test_every_module_named_in_the_table_exists():
    missing = [module for module in SHARED if not (REPO / module).is_file()]
    assert missing == []


def test_tests_of_a_shared_module_form_one_unit_and_the_others_one_each():
    split = SharedFixtureScheduling._split_scope
    wheels = "tests/e2e/packaging/test_wheels.py::test_the_products_job_from_wheels_loads_the_erp"
    bounds = "tests/e2e/packaging/test_lower_bounds.py::test_about_works_on_the_lowest_versions[x]"
    other = "tests/e2e/pipelines/test_meltano.py::test_no_secret_appears_in_the_logs_of_a_run"

    assert split(None, wheels) == split(None, bounds) == "release"  # type: ignore[arg-type]
    assert split(None, other) == other  # type: ignore[arg-type]
