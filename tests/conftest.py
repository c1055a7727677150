"""Registers the suite's fixtures and hooks; they live in ``tests/support``."""

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.tiers",
    "tests.support.scheduling",
    "tests.support.standard_sandbox",
    "tests.support.reports",
]
