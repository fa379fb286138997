"""Files that are not an export of this project: the message says what is read and what to pass."""

from __future__ import annotations

import shutil

import pytest
from conftest import REDCAP, ROOT, SAMPLE, refuse

from registry.errors import ExportError, InputFileError

LONGITUDINAL = REDCAP / "REDCapR" / "longitudinal"


@pytest.fixture
def registry_with_sample(cli, db):
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", db).exit_code == 0
    return db


def test_a_file_that_is_no_export_says_which_formats_are_read(cli, registry_with_sample, tmp_path):
    toml = shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    msg = refuse(cli, registry_with_sample, toml, expect="pyproject.toml is not a REDCap export")
    assert "malformed" not in msg
    assert all(f in msg for f in ("CSV", "API JSON", "SPSS .sav", "Stata .dta", "ODM XML"))


def test_the_library_raises_input_file_error_for_it(db, tmp_path):
    from registry.ingest import ingest
    from registry.redcap.project import load_default_project

    toml = shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with pytest.raises(InputFileError):
        ingest(toml, load_default_project(), db)


def test_another_projects_export_without_its_dictionary_names_dictionary_and_init(cli, registry_with_sample):
    msg = refuse(cli, registry_with_sample, LONGITUDINAL / "data.csv", expect="columns are not this project's")
    assert "longitudinal but" not in msg and "record-ID" not in msg
    assert "--dictionary" in msg and "registry init DIR --dictionary" in msg


def test_the_library_raises_export_error_for_it(db):
    from registry.ingest import ingest
    from registry.redcap.project import load_default_project

    with pytest.raises(ExportError, match="not this project's"):
        ingest(LONGITUDINAL / "data.csv", load_default_project(), db)
