"""``make mutate``: mutation testing (mutmut) of the pure modules with their fast unit tests.

mutmut imports the mutated code from ``mutants/``, ``mutants/src`` or ``mutants/source`` and
names modules after their path, so the plugins' ``<plugin>/<package>`` layout is staged as
``.mutate/src/<package>`` (with a copy of ``tests/``) and mutmut runs there. Only the modules
in ``MODULE_TESTS`` are mutated and only their unit tests run (``tests/unit``: no server, no
engine, no subprocess). A survivor is a change to the code that no test noticed: kill it with a
test, or explain in the closing note why it is equivalent.

Usage: ``python scripts/mutate.py [module ...]`` (default: every module in ``MODULES``, e.g.
``tap_zoho/keyset.py``). Prints the counts and every survivor's diff, and writes them to
``.mutate/survivors.txt``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

ROOT = Path(__file__).resolve().parent.parent
STAGE = ROOT / ".mutate"
PACKAGES = {
    "tap_zoho": ROOT / "tap-zoho" / "tap_zoho",
    "target_clickhouse": ROOT / "target-clickhouse" / "target_clickhouse",
    "target_tsh_postgres": ROOT / "target-tsh-postgres" / "target_tsh_postgres",
}
#: Each mutated module and its unit tests (globs: a module's tests may be split by behaviour).
MODULE_TESTS = {
    "tap_zoho/keyset.py": ["tests/unit/tap_zoho/test_keyset*.py"],
    "tap_zoho/fingerprints.py": ["tests/unit/tap_zoho/test_fingerprints*.py"],
    "tap_zoho/position_paging.py": ["tests/unit/tap_zoho/test_position_paging*.py"],
    "tap_zoho/crm/schema.py": ["tests/unit/tap_zoho/test_crm_schema*.py"],
    "target_clickhouse/ddl.py": ["tests/unit/target_clickhouse/test_ddl*.py"],
    "target_tsh_postgres/mapping.py": ["tests/unit/target_tsh_postgres/test_mapping*.py"],
}
MODULES = list(MODULE_TESTS)


def _mutmut(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mutmut")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(  # noqa: S603 - our own venv's mutmut
        [str(exe), *args], cwd=STAGE, env=env, capture_output=True, text=True, check=False
    )


def _stage(modules: list[str]) -> None:
    """A fresh ``.mutate/`` with ``src/<package>``, ``tests/`` and mutmut's configuration."""
    shutil.rmtree(STAGE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name, source in PACKAGES.items():
        shutil.copytree(source, STAGE / "src" / name, ignore=ignore)
    shutil.copytree(ROOT / "tests", STAGE / "tests", ignore=ignore)
    patterns = [pattern for module in modules for pattern in MODULE_TESTS[module]]
    tests = sorted(
        {str(path.relative_to(ROOT)) for pattern in patterns for path in ROOT.glob(pattern)}
    )
    pytest_options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    lines = [
        "[tool.mutmut]",
        f"source_paths = {_toml_list(f'src/{name}' for name in PACKAGES)}",
        f"only_mutate = {_toml_list(f'src/{module}' for module in modules)}",
        f"pytest_add_cli_args_test_selection = {_toml_list(tests)}",
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:cov"]',
        "",
        "[tool.pytest.ini_options]",
        *(f"{key} = {_toml_value(value)}" for key, value in pytest_options["ini_options"].items()),
    ]
    (STAGE / "pyproject.toml").write_text("\n".join(lines) + "\n")


def _toml_value(value: object) -> str:
    if isinstance(value, list):
        return _toml_list(value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value).lower() if isinstance(value, bool) else str(value)


def _toml_list(items: Iterable[object]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def main() -> int:
    """Stage, run mutmut, report the survivors; exit 1 when mutmut itself failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Checked here, not with ``choices``: argparse checks an empty or default list against
    # ``choices`` as one value and refuses it, so the bare command (``make mutate``) failed.
    parser.add_argument("modules", nargs="*", metavar="module", help=", ".join(MODULES))
    modules = parser.parse_args().modules or MODULES
    if unknown := sorted(set(modules) - set(MODULES)):
        parser.error(f"not a mutated module: {', '.join(unknown)} (choose from {MODULES})")
    _stage(modules)
    run = _mutmut("run", "--max-children", str(max(1, (os.cpu_count() or 2) // 2)))
    print(run.stdout[-4000:], run.stderr[-4000:], sep="\n")
    if run.returncode != 0:
        return 1
    results = _mutmut("results", "--all", "true")
    lines = [line.strip() for line in results.stdout.splitlines() if ":" in line]
    survivors = [line.split(":")[0] for line in lines if line.endswith("survived")]
    report = [f"{len(survivors)} survivor(s) in {', '.join(modules)}", *lines, ""]
    report.extend(_mutmut("show", name).stdout for name in survivors)
    (STAGE / "survivors.txt").write_text("\n".join(report))
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
