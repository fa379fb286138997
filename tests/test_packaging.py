"""The package is self-contained: its data are read with importlib.resources, never by path walking."""

from __future__ import annotations

import re
import tomllib

from conftest import ROOT

from registry import resources


def test_every_sub_package_of_registry_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "registry").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_no_module_reaches_outside_the_package_for_data():
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in (ROOT / "registry").rglob("*.py")
        if not p.name.startswith("bench")  # the benchmarks leave the package for bench/ (issue 13)
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"parents\[|parent\.parent", line)
    ]
    assert offenders == []


def test_the_shipped_data_are_the_top_level_folders_of_the_checkout():
    # An editable install (make install) maps registry._data.* onto schemas/ and checks/: one source.
    assert resources.schemas_dir().resolve() == (ROOT / "schemas").resolve()
    assert resources.default_checks_dir().resolve() == (ROOT / "checks").resolve()
    assert resources.registry_ddl() == (ROOT / "schemas" / "registry.sql").read_text()
    assert (resources.default_project_dir() / "dictionary.csv").is_file()
    assert resources.default_plan_path().read_bytes() == (ROOT / "schemas" / "analysis_plan.toml").read_bytes()
    assert {p.name for p in (resources.default_checks_dir() / "protocol").glob("*.json")}
