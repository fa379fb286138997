"""The ODM reader's record stream: columns that appear late, multi-line values, entities never loaded."""

from __future__ import annotations

from test_odm import MINI, ingest, query, write, write_dictionary

from registry.redcap.odm import read_odm_project


def test_an_item_the_odm_metadata_lacks_that_appears_only_in_a_later_record_is_loaded(cli, db, tmp_path):
    # 'height' is in the given dictionary but not in the ODM's metadata, and only record 102 has it:
    # its column appears after record 101's rows (with a multi-line notes value) were written.
    text = MINI.replace('<ItemData ItemOID="weight" Value="64"/>',
                        '<ItemData ItemOID="weight" Value="64"/><ItemData ItemOID="height" Value="171.5"/>')
    export = write(tmp_path, text)
    rows = read_odm_project(export).dictionary.to_rows()
    at = next(i for i, r in enumerate(rows) if r["field_name"] == "weight")
    rows.insert(at + 1, {**rows[at], "field_name": "height", "field_label": "Height",
                         "text_validation_min": "", "text_validation_max": ""})
    ingest(cli, db, export, "--dictionary", write_dictionary(tmp_path / "dictionary.csv", rows))
    assert query(db, "select record_id, redcap_repeat_instance, weight, height from vitals order by 1, 2") == [
        ("101", 1, 70.5, None), ("101", 2, None, None), ("102", 1, 64.0, 171.5)]
    assert query(db, "select comments from demographics where record_id = '101'") == [("first line\nsecond line",)]


def test_an_external_entity_in_an_odm_is_never_read(cli, db, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    doctype = f'<!DOCTYPE ODM [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>'
    declaration = '<?xml version="1.0" encoding="UTF-8" ?>'
    text = MINI.replace(declaration, f"{declaration}\n{doctype}")
    text = text.replace('Value="first line', 'Value="&leak;first line')
    result = cli("ingest", write(tmp_path, text), "--db", db)
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code == 0:
        assert "TOP-SECRET" not in str(query(db, "select comments from demographics"))
    else:
        assert "the ODM export is malformed" in result.stderr
