"""Every cell accounted for, whatever the export's format: a REDCap ODM file is walked cell by cell
(read independently with ElementTree), and the label CSV, ODM, SPSS and Stata exports of the sample
are walked against their raw CSV twin, so that no reader loses a cell the CSV reader keeps."""

from __future__ import annotations

import pyreadstat
import pytest
from cell_walk import read_export, unaccounted
from conftest import REDCAP, SAMPLE
from test_readstat_ingest import date_formats, typed_frame

from bench._odm_writer import write_odm
from registry.redcap.project import load_default_project

RUSSIAN = REDCAP / "REDCapR" / "russian" / "project.xml"
EXPORT = SAMPLE / "sample_export.csv"


def test_every_cell_of_a_real_redcap_odm_is_in_the_registry(cli, db):
    assert cli("ingest", RUSSIAN, "--db", db).exit_code == 0
    header, rows = read_export(RUSSIAN)
    assert len(rows) == 3 and sum(bool(v) for r in rows for v in r.values()) > 200
    assert unaccounted(db, RUSSIAN) == []


def the_sample_as(fmt: str, folder):
    """The sample export written as REDCap writes ``fmt``, and the ingest options it needs."""
    project = load_default_project()
    if fmt == "labels":
        return SAMPLE / "sample_export_labels.csv", []
    if fmt == "odm":
        return write_odm(project, EXPORT, folder / "sample.xml"), ["--study-day-anchor", project.study_day_anchor]
    frame, value_labels, labels = typed_frame()
    path = folder / f"sample_export.{fmt}"
    if fmt == "sav":
        pyreadstat.write_sav(frame, path, column_labels=labels, variable_value_labels=value_labels,
                             variable_format=date_formats(frame))
    else:
        pyreadstat.write_dta(frame, path, column_labels=labels, variable_value_labels=value_labels)
    return path, []


@pytest.mark.parametrize("fmt", ["labels", "odm", "sav", "dta"])
def test_every_cell_of_the_sample_is_in_the_registry_whatever_the_export_format(cli, db, tmp_path, fmt):
    export, args = the_sample_as(fmt, tmp_path)
    result = cli("ingest", export, "--db", db, *args)
    assert result.exit_code == 0, result.stderr
    assert unaccounted(db, EXPORT) == []
    if fmt == "odm":  # and the ODM's own cells, read from the XML (repeating instruments, events)
        assert len(read_export(export)[1]) == len(read_export(EXPORT)[1])
        assert unaccounted(db, export) == []


def test_the_odm_walk_sees_a_cell_the_registry_does_not_hold(cli, db, tmp_path):
    """The ODM side of the walk can fail: an ODM with one value changed after the ingest is reported."""
    assert cli("ingest", RUSSIAN, "--db", db).exit_code == 0
    text = RUSSIAN.read_text(encoding="utf-8")
    edited = tmp_path / "edited.xml"
    edited.write_text(text.replace('ItemOID="interviewer" Value="tb"', 'ItemOID="interviewer" Value="tb2"', 1),
                      encoding="utf-8")
    lost = unaccounted(db, edited)
    assert len(lost) == 1 and "interviewer = 'tb2'" in lost[0]
