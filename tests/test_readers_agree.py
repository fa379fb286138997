"""One reader per format, the same raw rows: the sample export as CSV, as API JSON and as the ODM
REDCap writes for the same project loads into the same instrument tables."""

from __future__ import annotations

import csv
import json

from conftest import SAMPLE

from bench._odm_writer import write_odm
from registry import store
from registry.redcap.project import load_default_project

EXPORT = SAMPLE / "sample_export.csv"


def tables(db) -> dict[str, list[tuple]]:
    con = store.connect(db, read_only=True)
    try:
        forms = load_default_project().dictionary.forms
        return {f: con.execute(f"select * from {f} order by all").fetchall() for f in forms}
    finally:
        con.close()


def test_the_csv_the_api_json_and_the_odm_of_one_project_load_the_same_tables(cli, tmp_path):
    project = load_default_project()
    with EXPORT.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    as_json = tmp_path / "records.json"
    as_json.write_text(json.dumps(records), encoding="utf-8")
    odm = write_odm(project, EXPORT, tmp_path / "project.xml")
    loaded = {}
    for name, export, args in (("csv", EXPORT, []), ("json", as_json, []),
                               ("odm", odm, ["--study-day-anchor", project.study_day_anchor])):
        db = tmp_path / f"{name}.duckdb"
        result = cli("ingest", export, "--db", db, *args)
        assert result.exit_code == 0, result.stderr
        loaded[name] = tables(db)
    assert sum(len(rows) for rows in loaded["csv"].values()) > 2000
    for form, rows in loaded["csv"].items():
        assert loaded["json"][form] == rows, form
        assert loaded["odm"][form] == rows, form
