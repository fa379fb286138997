"""The ODM records read without building XML elements (odm_fast) are the records the XML parser reads.

Each case loads one file both ways (the parser's way forced) and compares the temp table ``raw``
cell by cell; a file outside REDCap's layout must be left to the parser.
"""

from pathlib import Path

import duckdb
import pytest
from test_odm import MINI, RUSSIAN

from registry.errors import InputFileError
from registry.redcap import odm_fast, odm_records
from registry.redcap.odm import load_odm, read_odm_project
from registry.redcap.rawfile import ExportInfo


def _load(path: Path, parser_only: bool, monkeypatch) -> tuple[list, list[str], list[str]]:
    if parser_only:
        def refuse(*_args):
            raise odm_fast.NotRegular("the XML parser's way, for the comparison")
            yield
        monkeypatch.setattr(odm_records, "_fast_records", refuse)
    project = read_odm_project(path)
    info = ExportInfo(path=path, sha256="", record_id_field=project.dictionary.record_id_field)
    con = duckdb.connect()
    header = load_odm(con, path, project, info)
    monkeypatch.undo()
    return con.execute("select * from raw order by __row").fetchall(), header, info.notes


def _read_fast(path: Path) -> bool:
    try:
        offset, prefixes = odm_fast.clinical_data(path)
        for _ in odm_fast.part_subjects(path, offset, None, prefixes, set()):
            pass
    except odm_fast.NotRegular:
        return False
    return True


CASES = {
    "as REDCap writes it": lambda t: t,
    "entities and character references": lambda t: t.replace(
        'Value="UNK"', 'Value="a &amp; b &lt;c&gt; &quot;q&quot; &apos;s&apos; &#233;&#x41;&#10;end"'),
    "CRLF line ends, a raw CR in a value": lambda t: t.replace("\n", "\r\n").replace("first line", "first\rline"),
    "tab indentation": lambda t: t.replace("  ", "\t"),
    "values that need quoting in CSV": lambda t: t.replace('Value="UNK"', 'Value="7,5, \'x\'"').replace(
        'Value="64"', 'Value="say &quot;64&quot;"'),
    "empty values and an item written twice": lambda t: t.replace(
        '<ItemData ItemOID="weight" Value="70.5"/>',
        '<ItemData ItemOID="weight" Value="70.5"/><ItemData ItemOID="weight" Value=""/>'
        '<ItemData ItemOID="dob" Value="1971-01-01"/>'),
    "an item written twice with two values, in one form and in two forms of one row": lambda t: t.replace(
        '<ItemData ItemOID="dob" Value="1970-05-06"/>',
        '<ItemData ItemOID="dob" Value="1970-05-06"/>\n<ItemData ItemOID="dob" Value="1980-01-01"/>').replace(
        '<ItemData ItemOID="weight" Value="64"/>', '<ItemData ItemOID="weight" Value="64"/>\n'
        '<ItemData ItemOID="race___1" Value="1"/>'),
    "a multi-line value with a blank line, attributes on several lines": lambda t: t.replace(
        "first line\nsecond line", "first line\n\n  second\tline\n").replace(
        '<FormData FormOID="Form.visit" FormRepeatKey="1">', '<FormData FormOID="Form.visit"\n  FormRepeatKey="1">'),
}
LEFT_TO_THE_PARSER = {
    "a comment among the records": lambda t: t.replace("</SubjectData>", "<!-- x --></SubjectData>", 1),
    "an IsNull item": lambda t: t.replace('Value="64"/>', 'Value="64" IsNull="Yes"/>'),
    "a single-quoted value": lambda t: t.replace('Value="64"', "Value='64'"),
    "a CDATA section": lambda t: t.replace("</ItemGroupData>", "<![CDATA[x]]></ItemGroupData>", 1),
    "an element between the records": lambda t: t.replace("</ClinicalData>", "<AuditRecords/></ClinicalData>"),
    "a third attribute on an item": lambda t: t.replace('Value="64"/>', 'Value="64" redcap:Note="x"/>'),
    "an item outside any item group": lambda t: t.replace(
        '<FormData FormOID="Form.vitals" FormRepeatKey="1">\n        <ItemGroupData ItemGroupOID="vitals.vit_date"',
        '<FormData FormOID="Form.vitals" FormRepeatKey="1">\n<ItemData ItemOID="weight" Value="1"/>'
        '\n        <ItemGroupData ItemGroupOID="vitals.vit_date"'),
}


def EXTRA_ITEMS(text: str) -> str:  # noqa: N802 (named as the case tables above)
    return text.replace('<ItemData ItemOID="weight" Value="64"/>', '<ItemData ItemOID="weight" Value="64"/>'
                        '<ItemData ItemOID="zz_extra" Value="x"/><ItemData ItemOID="aa_extra" Value="y"/>')


MALFORMED = {
    "an event closed in a record whose forms are outside events": lambda t: t.replace(
        '<SubjectData SubjectKey="102" redcap:RecordIdField="study_id">\n    <StudyEventData '
        'StudyEventOID="Event.baseline_arm_1" StudyEventRepeatKey="1"\n'
        '        redcap:UniqueEventName="baseline_arm_1">',
        '<SubjectData SubjectKey="102" redcap:RecordIdField="study_id">'),
    "a form closed as an event": lambda t: t.replace(
        "</FormData>\n    </StudyEventData>", "</StudyEventData>\n    </FormData>", 1),
    "a character XML does not allow (U+FFFE)": lambda t: t.replace('Value="64"', 'Value="6\ufffe4"'),
    "a control character": lambda t: t.replace('Value="64"', 'Value="6\x024"'),
    "a raw '<' in a value": lambda t: t.replace('Value="64"', 'Value="6<4"'),
    "a stray '&' in a value": lambda t: t.replace('Value="64"', 'Value="6 & 4"'),
    "the file cut before </ODM>": lambda t: t[:t.index("</ClinicalData>")],
}


@pytest.mark.parametrize("change", list(CASES), ids=list(CASES))
def test_the_fast_reader_loads_the_same_rows_as_the_xml_parser(tmp_path, monkeypatch, change):
    path = tmp_path / "project.xml"
    path.write_bytes(CASES[change](MINI).encode("utf-8"))
    assert _read_fast(path)
    assert _load(path, False, monkeypatch) == _load(path, True, monkeypatch)


@pytest.mark.parametrize("change", list(LEFT_TO_THE_PARSER), ids=list(LEFT_TO_THE_PARSER))
def test_a_file_outside_redcaps_layout_is_read_by_the_xml_parser(tmp_path, monkeypatch, change):
    path = tmp_path / "project.xml"
    path.write_bytes(LEFT_TO_THE_PARSER[change](MINI).encode("utf-8"))
    assert not _read_fast(path)
    assert _load(path, False, monkeypatch) == _load(path, True, monkeypatch)


@pytest.mark.parametrize("change", list(MALFORMED), ids=list(MALFORMED))
def test_a_malformed_file_is_refused_by_the_fast_reader_and_the_xml_parser_says_where(tmp_path, change):
    path = tmp_path / "project.xml"
    path.write_bytes(MALFORMED[change](MINI).encode("utf-8"))
    assert not _read_fast(path)
    project = read_odm_project(path)
    info = ExportInfo(path=path, sha256="", record_id_field=project.dictionary.record_id_field)
    with pytest.raises(InputFileError, match="the ODM export is malformed") as caught:
        load_odm(duckdb.connect(), path, project, info)
    assert f"{path}, line " in caught.value.where


def test_the_values_of_the_fast_reader_are_decoded_as_the_parser_decodes_them(tmp_path, monkeypatch):
    path = tmp_path / "project.xml"
    path.write_bytes(CASES["entities and character references"](MINI).replace("\n", "\r\n").encode("utf-8"))
    rows, header, _notes = _load(path, False, monkeypatch)
    weights = [r[header.index("weight")] for r in rows]  # __row is the last column
    assert "a & b <c> \"q\" 's' éA\nend" in weights
    comments = [r[header.index("comments")] for r in rows if r[header.index("comments")]]
    assert comments == ["first line\nsecond line"]


def test_the_real_redcap_odm_is_read_by_the_fast_reader(monkeypatch):
    assert _read_fast(RUSSIAN)
    assert _load(RUSSIAN, False, monkeypatch) == _load(RUSSIAN, True, monkeypatch)


def test_the_benchmark_odm_written_as_redcap_writes_it_is_read_by_the_fast_reader(tmp_path, monkeypatch):
    from conftest import SAMPLE

    from bench._odm_writer import write_odm
    from registry.redcap.project import load_default_project

    odm = write_odm(load_default_project(), SAMPLE / "sample_export.csv", tmp_path / "project.xml")
    assert "\t\t\t\t\t<ItemData " in odm.read_text(encoding="utf-8")  # REDCap's tab indentation
    assert _read_fast(odm)
    assert _load(odm, False, monkeypatch) == _load(odm, True, monkeypatch)


def test_an_item_written_twice_in_a_row_keeps_its_last_value_as_the_xml_parser_does(tmp_path, monkeypatch):
    path = tmp_path / "project.xml"
    path.write_bytes(CASES["an item written twice with two values, in one form and in two forms of one row"](MINI)
                     .encode("utf-8"))
    rows, header, _notes = _load(path, False, monkeypatch)
    dobs = [r[header.index("dob")] for r in rows if r[header.index("record_id")] == "101"]
    assert "1980-01-01" in dobs and "1970-05-06" not in dobs


def test_a_multi_line_value_keeps_its_line_breaks_blank_line_and_tab(tmp_path, monkeypatch):
    path = tmp_path / "project.xml"
    path.write_bytes(CASES["a multi-line value with a blank line, attributes on several lines"](MINI).encode("utf-8"))
    rows, header, _notes = _load(path, False, monkeypatch)
    comments = [r[header.index("comments")] for r in rows if r[header.index("comments")]]
    assert comments == ["first line\n\n  second\tline\n"]


def test_items_the_metadata_does_not_name_are_extra_columns_in_the_order_first_written(tmp_path, monkeypatch):
    path = tmp_path / "project.xml"
    path.write_bytes(EXTRA_ITEMS(MINI).encode("utf-8"))
    project = read_odm_project(path)
    ignored = []
    for parser_only in (False, True):
        if parser_only:
            def refuse(*_args):
                raise odm_fast.NotRegular("the XML parser's way, for the comparison")
                yield
            monkeypatch.setattr(odm_records, "_fast_records", refuse)
        info = ExportInfo(path=path, sha256="", record_id_field=project.dictionary.record_id_field)
        header = load_odm(duckdb.connect(), path, project, info, ignore_extra=True)
        assert "zz_extra" not in header and "aa_extra" not in header
        ignored.append(info.ignored_columns)
    assert _read_fast(path)
    assert [c for c in ignored[0] if c.endswith("_extra")] == ["zz_extra", "aa_extra"]
    assert ignored[0] == ignored[1]
