"""Workspaces: `registry init` writes one; every command finds registry.toml in the cwd or a parent."""

from __future__ import annotations

import tomllib

import pytest
from conftest import REDCAP, SAMPLE

from registry import resources
from registry.errors import WorkspaceError
from registry.workspace import find_workspace, read_workspace

LONGITUDINAL = REDCAP / "REDCapR" / "longitudinal"


def tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def builtin_ws(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("REGISTRY_DB", raising=False)
    result = cli("init", tmp_path / "ws")
    assert result.exit_code == 0, result.stderr
    return tmp_path / "ws"


def test_init_writes_registry_toml_the_default_plan_and_the_default_checks(builtin_ws):
    config = tomllib.loads((builtin_ws / "registry.toml").read_text())
    assert config["project"] == {"builtin": True}
    assert config["files"] == {"plan": "plan.toml", "checks": "checks", "registry": "registry.duckdb",
                               "reports": "reports", "exports": "exports"}
    assert (builtin_ws / "plan.toml").read_bytes() == resources.default_plan_path().read_bytes()
    shipped = resources.default_checks_dir()
    assert tree(builtin_ws / "checks") == [p for p in tree(shipped) if "__" not in p]
    madrs = "protocol/madrs.json"
    assert (builtin_ws / "checks" / madrs).read_text() == (shipped / madrs).read_text()


def test_every_command_finds_the_workspace_from_a_sub_folder(cli, builtin_ws, monkeypatch):
    sub = builtin_ws / "exports_from_redcap"
    sub.mkdir()
    monkeypatch.chdir(sub)
    assert cli("plan", "lock").exit_code == 0
    assert cli("ingest", SAMPLE / "sample_export.csv").exit_code == 0
    assert cli("validate").exit_code == 0
    assert (builtin_ws / "registry.duckdb").is_file() and not (sub / "registry.duckdb").exists()
    assert (builtin_ws / "reports" / "batch_1" / "data_quality.html").is_file()
    assert cli.json("status", "--json")["batch_id"] == 1
    # an option overrides the workspace
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", sub / "other.duckdb").exit_code == 0
    assert (sub / "other.duckdb").is_file()


def test_init_refuses_to_overwrite_a_workspace(cli, builtin_ws):
    before = {p: p.read_bytes() for p in builtin_ws.rglob("*") if p.is_file()}
    result = cli("init", builtin_ws, "--dictionary", LONGITUDINAL / "dictionary.csv")
    assert result.exit_code == 2
    assert "already holds a workspace" in result.stderr and "fix:" in result.stderr
    assert {p: p.read_bytes() for p in builtin_ws.rglob("*") if p.is_file()} == before


def test_init_refuses_project_files_without_a_dictionary_and_writes_nothing(cli, tmp_path):
    result = cli("init", tmp_path / "ws", "--events", LONGITUDINAL / "event.csv")
    assert result.exit_code == 2 and "--dictionary" in result.stderr
    assert not (tmp_path / "ws").exists() or tree(tmp_path / "ws") == []


def test_a_workspace_of_another_project_needs_no_options_and_uses_its_own_checks(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("REGISTRY_DB", raising=False)
    ws = tmp_path / "longitudinal"
    result = cli("init", ws, "--dictionary", LONGITUDINAL / "dictionary.csv", "--events", LONGITUDINAL / "event.csv")
    assert result.exit_code == 0, result.stderr
    config = tomllib.loads((ws / "registry.toml").read_text())["project"]
    assert config["dictionary"] == "project/dictionary.csv" and config["events"] == "project/events.csv"
    assert (ws / "project" / "dictionary.csv").read_bytes() == (LONGITUDINAL / "dictionary.csv").read_bytes()
    plan = (ws / "plan.toml").read_text()
    assert "visit_2_arm_1" in plan and "visit_lab_data.vld1" in plan  # its events and numeric fields
    assert all(line.startswith("#") for line in plan.splitlines() if line.strip())  # a template
    suites = sorted(p.stem for p in (ws / "checks").glob("*.json"))
    assert "visit_lab_data" in suites and "madrs" not in suites

    monkeypatch.chdir(ws)
    ingest = cli("ingest", LONGITUDINAL / "data.csv")
    assert ingest.exit_code == 0, ingest.stderr
    assert "visit_lab_data: 4 rows" in ingest.stdout
    gate = cli("validate", "--json")
    assert gate.exit_code == 0, gate.stderr
    assert (ws / "reports" / "batch_1" / "data_quality.html").is_file()
    lock = cli("plan", "lock")
    assert lock.exit_code == 2 and "template" in lock.stderr and str(ws / "plan.toml") in lock.stderr


def test_find_workspace_walks_up_and_returns_none_outside_one(tmp_path, builtin_ws):
    deep = builtin_ws / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(deep).root == builtin_ws
    assert find_workspace(tmp_path) is None


@pytest.mark.parametrize("text, expect", [
    ("[project\nbuiltin = true", "not valid TOML"),
    ("[project]\nbuiltin = true\ncolour = 1\n", "unknown key `project.colour`"),
    ("[files]\nplan = 'plan.toml'\n", "no `project.dictionary`"),
    ("[project]\ndictionary = 'gone.csv'\n", "missing"),
])
def test_a_malformed_registry_toml_is_a_clear_error(cli, tmp_path, monkeypatch, text, expect):
    (tmp_path / "registry.toml").write_text(text)
    with pytest.raises(WorkspaceError, match=expect):
        read_workspace(tmp_path / "registry.toml")
    monkeypatch.chdir(tmp_path)
    result = cli("status")
    assert result.exit_code == 2 and expect in result.stderr and "registry.toml" in result.stderr
    assert "Traceback" not in result.stderr

