"""The wheel works outside the checkout: built, installed in a fresh virtual environment, and
run from a temporary folder as a user would, for the registry's own project and for another
REDCap project's workspace.

To stay fast the new environment has no pip and no copies of the dependencies: the wheel is
installed into it with ``--no-deps`` (by this environment's pip, ``--python``), and a ``.pth``
file lets it import the already installed dependencies. The toolkit itself comes only from the
wheel: the test checks that ``registry`` and its data are imported from the new environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import REDCAP, ROOT, SAMPLE

LONGITUDINAL = REDCAP / "REDCapR" / "longitudinal"  # MIT, OuhscBbmc/REDCapR (tests/data/redcap/SOURCE.md)
SOURCES = ("pyproject.toml", "README.md", "registry", "schemas", "checks")


def run(cmd: list, cwd: Path, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "REGISTRY_DB"}}
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode in ok, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel of this checkout installed."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"  # a copy, so that the build leaves nothing in the checkout
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(ROOT / name, src / name)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", base / "dist", src], base)
    (wheel,) = (base / "dist").glob("registry-*.whl")
    env = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", env], base)
    python = env / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_registry_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], base)
    return env


def test_the_toolkit_and_its_data_come_from_the_wheel(venv, tmp_path):
    out = run([venv / "bin" / "python", "-c",
               "import registry, registry.resources as r; print(registry.__file__); print(r.default_checks_dir());"
               "print(r.default_plan_path()); print(r.default_project_dir())"], tmp_path).stdout.split()
    site = str(venv)
    assert all(line.startswith(site) for line in out), out
    assert not any(line.startswith(str(ROOT)) for line in out)


def test_the_registry_project_from_init_to_export_outside_the_checkout(venv, tmp_path):
    registry = venv / "bin" / "registry"
    shutil.copy(SAMPLE / "sample_export.csv", tmp_path / "sample_export.csv")
    run([registry, "init", "study"], tmp_path)
    ws = tmp_path / "study"
    run([registry, "plan", "lock"], ws)
    run([registry, "ingest", "../sample_export.csv"], ws)
    assert "passed" in run([registry, "validate"], ws).stdout
    run([registry, "analyze"], ws)
    run([registry, "export", "--format", "csv"], ws)
    assert (ws / "reports" / "batch_1" / "data_quality.html").is_file()
    assert {p.name for p in (ws / "reports" / "batch_1").iterdir()} >= {"results.json", "report.html", "report.md"}
    assert {p.name for p in (ws / "exports" / "batch_1" / "csv").iterdir()} >= {"adsl.csv", "adqs.csv", "adtte.csv"}
    assert '"locked": true' in (ws / "reports" / "batch_1" / "results.json").read_text()


LONGITUDINAL_PLAN = """
[plan]
title = "REDCapR longitudinal example: prespecified analyses"
version = "1"

[population]
name = "men"
include = { form = "demographics", field = "sex", value = 1 }
cohort = { form = "demographics", field = "sex" }

[population.cohorts]
0 = "Female"
1 = "Male"

[visits]
baseline = "visit_1_arm_1"
followup = ["visit_2_arm_1"]

[tests]
alpha = 0.05

[[outcomes]]
scale = "prealbumin"
label = "Serum prealbumin"
form = "visit_lab_data"
field = "vld1"
remission = { comparison = "<", threshold = 1 }

[response]
min_reduction_percent = 50

[relapse]
scale = "prealbumin"
comparison = ">="
threshold = 40
consecutive = 1
min_gap_days = 0
max_gap_days = 30

[[relapse.ratings]]
name = "final_visit"
form = "completion_data"
score = "alb_4"
day = "date_visit_4"

[relapse.clinician]
form = "completion_data"
field = "complete_study"
value = 0
day = "withdraw_date"

[relapse.censoring]
rule = "later of last assessment and last contact"
last_contact = { form = "completion_data", day = "date_visit_4" }

[cox]
compare = 1
reference = 0

[power]
target = 0.80
"""


def test_another_projects_workspace_from_init_to_analyze_outside_the_checkout(venv, tmp_path):
    registry = venv / "bin" / "registry"
    for name in ("dictionary.csv", "event.csv", "data.csv"):
        shutil.copy(LONGITUDINAL / name, tmp_path / name)
    run([registry, "init", "longitudinal", "--dictionary", "dictionary.csv", "--events", "event.csv"], tmp_path)
    ws = tmp_path / "longitudinal"
    assert "visit_lab_data.vld1" in (ws / "plan.toml").read_text()
    assert "template" in run([registry, "plan", "lock"], ws, ok=(2,)).stderr
    # the user fills in the plan and names the day-0 date, then rebuilds the checks for it
    (ws / "plan.toml").write_text(LONGITUDINAL_PLAN)
    config = (ws / "registry.toml").read_text()
    anchor = 'study_day_anchor = "date_enrolled"'
    (ws / "registry.toml").write_text(config.replace(f"# {anchor}", anchor))
    run([registry, "checks", "build"], ws)
    run([registry, "plan", "lock"], ws)
    ingest = run([registry, "ingest", "../data.csv"], ws).stdout
    assert "batch 1: 3 records" in ingest and "visit_lab_data" in ingest
    assert "passed" in run([registry, "validate"], ws).stdout
    run([registry, "analyze"], ws)
    results = (ws / "reports" / "batch_1" / "results.json").read_text()
    assert "REDCapR longitudinal example" in results
    assert not (tmp_path / "registry.duckdb").exists() and (ws / "registry.duckdb").is_file()
