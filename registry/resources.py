"""The data the package ships: the registry's REDCap project, DDL, default plan and checks.

They live in the top-level ``schemas/`` and ``checks/`` folders of the source tree, mapped
into the package as ``registry._data.schemas`` and ``registry._data.checks`` at build time
(pyproject.toml), so a wheel, an editable install and a checkout all read the same files
through :mod:`importlib.resources`. Nothing here looks outside the package.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SCHEMAS = "registry._data.schemas"
CHECKS = "registry._data.checks"


def _dir(package: str) -> Path:
    root = files(package)
    # pip always unpacks wheels, so the resources are files on disk; the callers (DuckDB,
    # the suite loader, the plan lock) need real paths.
    if not isinstance(root, Path):
        raise RuntimeError(f"{package} is not installed as files on disk ({root!r}); reinstall with pip")
    return root


def schemas_dir() -> Path:
    return _dir(SCHEMAS)


def registry_ddl() -> str:
    """The registry's metadata DDL (``schemas/registry.sql``)."""
    return (schemas_dir() / "registry.sql").read_text(encoding="utf-8")


def default_project_dir() -> Path:
    """The registry's own REDCap project (``schemas/registry_project/``)."""
    return schemas_dir() / "registry_project"


def default_plan_path() -> Path:
    """The default analysis plan (``schemas/analysis_plan.toml``)."""
    return schemas_dir() / "analysis_plan.toml"


def default_checks_dir() -> Path:
    """The default expectation suites (``checks/``: ``*.json``, ``protocol/``, ``sql/``)."""
    return _dir(CHECKS)
