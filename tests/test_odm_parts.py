"""A large ODM read in parts, one process per core (odm_parts), loads exactly what one process loads.

The size threshold is set to 0 so that the small files here are cut too; each case loads a file
in 2 and 3 parts and in one, and compares the temp table ``raw`` whole: its columns, every row in
table order, ``__row``. Files the parts cannot read as one (extra items, an irregular or
malformed part, a record one part cannot place) must give what the one-process read gives.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest
from conftest import REDCAP, SAMPLE, SHARED
from test_odm import MINI
from test_odm_fast import EXTRA_ITEMS, MALFORMED

from registry.errors import RegistryError
from registry.redcap import odm_parts
from registry.redcap.odm import load_odm, read_odm_project
from registry.redcap.rawfile import ExportInfo

SECOND = '<SubjectData SubjectKey="102" redcap:RecordIdField="study_id">'


def _split(monkeypatch, parts: int | None) -> list[int]:
    """Cut every file into ``parts`` (None: one process); the parts each split read returns."""
    monkeypatch.setattr(odm_parts, "SPLIT_BYTES", 1 << 62 if parts is None else 0)
    monkeypatch.setattr(odm_parts, "PARTS", parts)
    read, seen = odm_parts.read_parts, []

    def counted(jobs):
        seen.append(len(jobs))
        return read(jobs)
    monkeypatch.setattr(odm_parts, "read_parts", counted)
    return seen


def _raw(path: Path, **options) -> tuple[list[str], list[tuple], list[str], list[str]]:
    """The header, raw's columns, its rows in table order, and the columns ignored."""
    project = read_odm_project(path)
    info = ExportInfo(path=path, sha256="", record_id_field=project.dictionary.record_id_field)
    con = duckdb.connect()
    header = load_odm(con, path, project, info, **options)
    rows = con.execute("select * from raw")
    columns = [d[0] for d in rows.description]
    return header, columns, rows.fetchall(), info.ignored_columns


def _both(path: Path, monkeypatch, parts: int, **options):
    """The load in ``parts`` parts and in one; the number of parts read."""
    seen = _split(monkeypatch, parts)
    split = _raw(path, **options)
    _split(monkeypatch, None)
    return split, _raw(path, **options), seen


def _bench_odm(folder: Path) -> Path:
    from bench._odm_writer import write_odm
    from registry.redcap.project import load_default_project

    return write_odm(load_default_project(), SAMPLE / "sample_export.csv", folder / "project.xml")


def _mini(folder: Path, text: str = MINI) -> Path:
    path = folder / "project.xml"
    path.write_bytes(text.encode("utf-8"))
    return path


FILES = {
    "REDCapR's russian project (tests/data)": lambda _tmp: REDCAP / "REDCapR" / "russian" / "project.xml",
    "REDCapR's russian project (../shared)": lambda _tmp: SHARED / "REDCapR" / "russian" / "project.xml",
    "the benchmark's ODM of the sample export": _bench_odm,
    "a small longitudinal project": _mini,
}


@pytest.mark.parametrize("parts", [2, 3])
@pytest.mark.parametrize("name", list(FILES), ids=list(FILES))
def test_a_file_read_in_parts_loads_exactly_the_rows_one_process_loads(tmp_path, monkeypatch, name, parts):
    path = FILES[name](tmp_path)
    if not path.exists():
        pytest.skip(f"{path} is not here")
    split, one, seen = _both(path, monkeypatch, parts)
    assert split == one
    header, columns, rows, _ignored = split
    assert columns[-1] == "__row" and [r[-1] for r in rows] == list(range(1, len(rows) + 1))
    assert len(seen) == 1 and 2 <= seen[0] <= parts  # it was read in parts (a file of 2 records in 2)
    if name == "the benchmark's ODM of the sample export":
        assert seen == [parts] and len(rows) > 1000


def test_the_cuts_are_at_record_start_tags_in_file_order(tmp_path):
    path = _bench_odm(tmp_path)
    data = path.read_bytes()
    start = data.index(b"<ClinicalData")
    offsets = odm_parts.cuts(path, start, 4)
    assert offsets[0] == start and offsets[-1] == len(data) and offsets == sorted(set(offsets))
    assert len(offsets) == 5
    assert all(data[at:at + len(b"<SubjectData ")] == b"<SubjectData " for at in offsets[1:-1])


@pytest.mark.parametrize("where", ["first", "second", "both"])
def test_items_the_metadata_does_not_name_give_the_columns_one_process_gives(tmp_path, monkeypatch, where):
    text = EXTRA_ITEMS(MINI)  # in the second record
    if where != "second":
        text = text.replace('<ItemData ItemOID="weight" Value="70.5"/>', '<ItemData ItemOID="weight" Value="70.5"/>'
                            '<ItemData ItemOID="aa_extra" Value="z"/>')
    if where == "first":
        text = text.replace('<ItemData ItemOID="zz_extra" Value="x"/><ItemData ItemOID="aa_extra" Value="y"/>', "")
    split, one, seen = _both(_mini(tmp_path, text), monkeypatch, 2, ignore_extra=True)
    assert seen == [2]
    assert split == one
    assert [c for c in one[3] if c.endswith("_extra")] == (["aa_extra"] if where == "first" else
                                                            ["zz_extra", "aa_extra"] if where == "second" else
                                                            ["aa_extra", "zz_extra"])


def _error(path: Path) -> tuple[str, str, str]:
    with pytest.raises(RegistryError) as caught:
        _raw(path)
    return type(caught.value).__name__, str(caught.value), caught.value.where


SECOND_PART = {  # each changes the second record only: the second part of two
    **{name: MALFORMED[name] for name in ("a character XML does not allow (U+FFFE)", "a control character",
                                          "a raw '<' in a value", "a stray '&' in a value",
                                          "an event closed in a record whose forms are outside events",
                                          "the file cut before </ODM>")},
    "a record without a SubjectKey": lambda t: t.replace('SubjectKey="102"', 'SubjectKey=""'),
    "an instance of a form that does not repeat": lambda t: t.replace(
        '<FormData FormOID="Form.demographics" FormRepeatKey="1">\n        <ItemGroupData '
        'ItemGroupOID="demographics.study_id" ItemGroupRepeatKey="1">\n          <ItemData ItemOID="study_id" '
        'Value="102"/>', '<FormData FormOID="Form.demographics" FormRepeatKey="3">\n        <ItemGroupData '
        'ItemGroupOID="demographics.study_id" ItemGroupRepeatKey="1">\n          <ItemData ItemOID="study_id" '
        'Value="102"/>'),
}


@pytest.mark.parametrize("change", list(SECOND_PART), ids=list(SECOND_PART))
def test_a_fault_in_the_second_part_is_refused_with_the_error_one_process_gives(tmp_path, monkeypatch, change):
    text = SECOND_PART[change](MINI)
    assert text != MINI
    path = _mini(tmp_path, text)
    seen = _split(monkeypatch, 2)
    split = _error(path)
    assert seen == [2]
    _split(monkeypatch, None)
    assert split == _error(path)
    assert "102" in split[2] or "#2" in split[2] or ", line " in split[2]


IRREGULAR_SECOND = {  # left to the XML parser when the second record (the second part) holds it
    "an IsNull item": lambda t: t.replace('Value="64"/>', 'Value="64" IsNull="Yes"/>'),
    "a single-quoted value": lambda t: t.replace('Value="64"', "Value='64'"),
    "a comment in the second record": lambda t: t.replace(SECOND, SECOND + "<!-- <SubjectData -->"),
}


@pytest.mark.parametrize("change", list(IRREGULAR_SECOND), ids=list(IRREGULAR_SECOND))
def test_a_second_part_outside_redcaps_layout_sends_the_file_to_the_xml_parser(tmp_path, monkeypatch, change):
    split, one, seen = _both(_mini(tmp_path, IRREGULAR_SECOND[change](MINI)), monkeypatch, 2)
    assert seen == [2]
    assert split == one


class _Tracked(subprocess.Popen):
    started: list[subprocess.Popen] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started.append(self)


@pytest.mark.parametrize("change", ["none", "a record without a SubjectKey", "a stray '&' in a value"])
def test_no_worker_process_or_temporary_file_is_left(tmp_path, monkeypatch, change):
    text = MINI if change == "none" else SECOND_PART[change](MINI)
    path = _mini(tmp_path, text)
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(subprocess, "Popen", _Tracked)
    _Tracked.started = []
    _split(monkeypatch, 3)
    if change == "none":
        _raw(path)
    else:
        _error(path)
    assert len(_Tracked.started) == 1  # two records: two parts, one worker
    assert all(p.returncode is not None for p in _Tracked.started), [p.returncode for p in _Tracked.started]
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("executable", ["/bin/false", "/no/such/python"])
def test_a_worker_that_fails_or_cannot_start_leaves_the_file_to_one_process(tmp_path, monkeypatch, executable):
    path = _bench_odm(tmp_path)
    _split(monkeypatch, None)
    one = _raw(path)
    seen = _split(monkeypatch, 2)
    monkeypatch.setattr(sys, "executable", executable)
    assert _raw(path) == one
    assert seen == [2]


def test_a_worker_finds_this_package_without_pythonpath_or_the_working_directory(tmp_path, monkeypatch):
    path = _bench_odm(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    seen = _split(monkeypatch, 2)
    read = odm_parts.read_parts
    parts = []
    monkeypatch.setattr(odm_parts, "read_parts", lambda jobs: parts.extend(read(jobs)) or parts)
    _raw(path)
    assert seen == [2] and len(parts) == 2 and parts[1].flat.rows > 0


def test_the_parts_are_read_at_once_in_order_within_the_memory_limit(tmp_path, monkeypatch):
    from registry.redcap import ordered_read

    path = _bench_odm(tmp_path)
    _split(monkeypatch, None)
    one = _raw(path)
    _split(monkeypatch, 2)
    project = read_odm_project(path)
    info = ExportInfo(path=path, sha256="", record_id_field=project.dictionary.record_id_field)
    con = duckdb.connect(config={"memory_limit": "1500MB", "threads": 2})
    before = con.execute("select current_setting('memory_limit')").fetchone()[0]
    read = ordered_read.read
    files = []
    monkeypatch.setattr(ordered_read, "read", lambda c, sql, paths, params=None: files.append(len(paths)) or
                        read(c, sql, paths, params))
    load_odm(con, path, project, info)
    assert files == [2]  # one connection a part
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] == before
    rows = con.execute("select * from raw")
    assert ([d[0] for d in rows.description], rows.fetchall()) == one[1:3]
