"""One-way layers: the analysis writes results.json and never imports the report; the report
renders from results.json alone and never imports the analysis run code; the export readers
share one public header mapper and never import the dispatcher; the API module only fetches."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

from analysis_registry import build_registry, reference_subjects

import registry
from registry.analysis.plan import default_plan_path, read_plan
from registry.analysis.run import analyze as run_analysis
from registry.report.render import write_report

PACKAGE = Path(registry.__file__).parent


def imported_modules(folder: str) -> dict[str, set[str]]:
    out = {}
    for path in (PACKAGE / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        out[path.name] = names
    return out


def test_the_analysis_never_imports_the_report():
    for name, modules in imported_modules("analysis").items():
        assert not any(m.startswith("registry.report") for m in modules), name


def test_the_report_never_imports_the_analysis_run_or_its_computations():
    allowed = {"registry.analysis.plan", "registry.analysis.methods"}
    for name, modules in imported_modules("report").items():
        used = {m for m in modules if m.startswith("registry.analysis")}
        assert used <= allowed, (name, used - allowed)


def test_the_analysis_writes_results_json_and_the_report_renders_from_that_file_alone(tmp_path):
    db = build_registry(tmp_path / "r.duckdb", reference_subjects())
    res = run_analysis(db, None, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["results.json"]
    assert res.files == [tmp_path / "out" / "results.json"]
    # the registry is gone: the report needs nothing but results.json (and the plan's labels)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(tmp_path / "out" / "results.json", elsewhere / "results.json")
    db.unlink()
    files = write_report(elsewhere / "results.json", read_plan(default_plan_path()))
    assert sorted(p.name for p in elsewhere.iterdir()) == ["report.html", "report.md", "results.json"]
    assert files == [elsewhere / "report.html", elsewhere / "report.md"]
    results = json.loads((elsewhere / "results.json").read_text())
    md = (elsewhere / "report.md").read_text()
    assert results["population"]["name"] in md
    assert len(results["trajectories"]["record_id"]) == len(results["trajectories"]["score"]) > 0


READERS = ("csv_reader.py", "json_reader.py", "readstat.py", "odm.py", "odm_xml.py", "odm_metadata.py",
           "odm_records.py", "odm_values.py")


def test_each_reader_maps_its_header_with_the_one_public_mapper_and_never_imports_the_dispatcher():
    modules = imported_modules("redcap")
    for name in READERS:
        assert "registry.redcap.export" not in modules[name], name
        assert not any(m.startswith(("registry.ingest", "registry.store")) for m in modules[name]), name
    mappers = [n for n in READERS if "registry.redcap.header" in modules[n]]
    assert sorted(mappers) == ["csv_reader.py", "json_reader.py", "odm_records.py", "readstat.py"]
    defined = [p.name for p in (PACKAGE / "redcap").glob("*.py") if "def map_header(" in p.read_text()
               or "def _map_header(" in p.read_text()]
    assert defined == ["header.py"]


def test_no_redcap_module_imports_a_private_name_of_another():
    for path in (PACKAGE / "redcap").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("registry."):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, (path.name, node.module, private)


def test_the_api_module_only_fetches():
    modules = imported_modules("redcap")["api.py"]
    assert not any(m.startswith(("registry.ingest", "registry.store", "registry.redcap.export",
                                 "registry.redcap.tidy", "registry.pull")) for m in modules), modules


def test_no_reader_module_is_over_400_lines():
    long = {p.name: n for p in [*(PACKAGE / "redcap").glob("*.py"), PACKAGE / "ingest.py", PACKAGE / "pull.py"]
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
