"""The environment a ``meltano run`` gets: what its job needs, none of the service's secrets.

The service's own environment holds its bearer token, the webhook secret, the static channel token
and whatever else the host put there; a run inherits none of that. It gets:

* the operating system's basics (``PATH``, ``HOME``, locale, time zone, temporary directory, CA
  bundles, proxies) and Meltano's own variables (``MELTANO_*``);
* the variables of the job's plugins, named as Meltano reads them: ``<PLUGIN_NAME>_*`` and
  ``<NAMESPACE>_*`` of every plugin the job's tasks name and of the plugins they inherit from, and
  each of their settings' own ``env:`` names;
* every variable ``meltano.yml`` (and its ``include_paths``) refers to as ``$NAME`` or ``${NAME}``;
* the names, or ``PREFIX*`` patterns, of the ``pass_env`` setting.

The service's own variables (``ZOHO_SYNC_SERVICE_*``, ``ZOHO_WEBHOOK_SECRET``, and
``MELTANO_UTILIZE_*``, its settings as ``meltano invoke`` exports them) never pass. Meltano
still reads the project's ``.env`` itself, so what is kept there reaches the plugins as before.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from .runner import env_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

LOG = logging.getLogger("zoho_sync_service.childenv")
BASICS = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "TERM",
        "NO_COLOR",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        *(p + "_PROXY" for p in ("HTTP", "HTTPS", "NO", "ALL")),
        *(p + "_proxy" for p in ("http", "https", "no", "all")),
    }
)
BASIC_PREFIXES = ("LC_", "MELTANO_")
# The service's own settings, also as `meltano invoke` exports them (MELTANO_UTILIZE_<SETTING>).
NEVER = ("ZOHO_SYNC_SERVICE_", "ZOHO_WEBHOOK_SECRET", "MELTANO_UTILIZE_")
REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
PLUGIN_TYPES = (
    "extractors",
    "loaders",
    "mappers",
    "transformers",
    "utilities",
    "orchestrators",
    "transforms",
    "models",
    "files",
)


@dataclass
class Project:
    """What ``meltano.yml`` says about plugins and jobs (only what the environment needs)."""

    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, list[str]] = field(default_factory=dict)
    references: set[str] = field(default_factory=set)

    @classmethod
    def read(cls, project_dir: Path) -> Project:
        """Read ``meltano.yml`` and the files its ``include_paths`` name (unreadable: nothing)."""
        project = cls()
        try:
            top = project._add((project_dir / "meltano.yml").read_text())
            for pattern in top.get("include_paths") or []:
                for path in sorted(project_dir.glob(str(pattern))):
                    project._add(path.read_text())
        except (OSError, yaml.YAMLError, AttributeError, TypeError) as exc:
            LOG.warning("Cannot read the Meltano project's plugins (%s): runs get the basics", exc)
        return project

    def _add(self, text: str) -> dict[str, Any]:
        self.references |= set(REFERENCE.findall(text))
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise TypeError("not a mapping")
        for kind in PLUGIN_TYPES:
            for plugin in (data.get("plugins") or {}).get(kind) or []:
                if isinstance(plugin, dict) and isinstance(plugin.get("name"), str):
                    self.plugins[plugin["name"]] = plugin
        for job in data.get("jobs") or []:
            if isinstance(job, dict) and isinstance(job.get("name"), str):
                self.jobs[job["name"]] = [str(t) for t in _flatten(job.get("tasks") or [])]
        return data

    def job_plugins(self, job: str) -> list[str]:
        """Names of the plugins a job's tasks run (``plugin:command`` counts as ``plugin``)."""
        names = []
        for task in self.jobs.get(job, []):
            names += [word.split(":", 1)[0] for word in task.split()]
        return names

    def variables(self, plugins: Iterable[str]) -> tuple[set[str], set[str]]:
        """(prefixes, exact names) Meltano reads the settings of ``plugins`` (and parents) from."""
        prefixes: set[str] = set()
        names: set[str] = set()
        todo, seen = list(plugins), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            plugin = self.plugins.get(name, {})
            prefixes.add(env_name(name) + "_")
            namespace = plugin.get("namespace")
            if isinstance(namespace, str):
                prefixes.add(env_name(namespace) + "_")
            for setting in plugin.get("settings") or []:
                if isinstance(setting, dict) and isinstance(setting.get("env"), str):
                    names.add(setting["env"])
            parent = plugin.get("inherit_from")
            if isinstance(parent, str):
                todo.append(parent)
        return prefixes, names


def _flatten(tasks: Any) -> list[Any]:
    if isinstance(tasks, list):
        return [item for task in tasks for item in _flatten(task)]
    return [tasks]


def run_environment(
    environ: Mapping[str, str],
    project: Project,
    job: str,
    plugins: Iterable[str],
    pass_env: Iterable[str] = (),
) -> dict[str, str]:
    """The variables of ``environ`` a run of ``job`` (whose plugins include ``plugins``) needs."""
    prefixes, names = project.variables([*project.job_plugins(job), *plugins])
    names |= project.references | BASICS
    allowed_prefixes = (*BASIC_PREFIXES, *prefixes)
    for pattern in pass_env:
        if pattern.endswith("*"):
            allowed_prefixes = (*allowed_prefixes, pattern[:-1])
        else:
            names.add(pattern)
    return {
        key: value
        for key, value in environ.items()
        if not key.startswith(NEVER) and (key in names or key.startswith(allowed_prefixes))
    }
