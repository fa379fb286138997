"""Custom dictionaries from the user's side: reserved and over-long names refused with a fix, form
names that cannot clash with the registry's own tables, deep logic refused by the translator
naming the field, and `validate` refusing a checks folder without a suite for a form."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import batches_and_schemas

HEADER = ["field_name", "form_name", "section_header", "field_type", "field_label",
          "select_choices_or_calculations", "field_note", "text_validation_type_or_show_slider_number",
          "text_validation_min", "text_validation_max", "identifier", "branching_logic", "required_field",
          "custom_alignment", "question_number", "matrix_group_name", "matrix_ranking", "field_annotation"]


def dictionary(tmp_path, fields: list[dict], name="dictionary.csv"):
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, lineterminator="\n")
    writer.writeheader()
    for f in fields:
        writer.writerow({"field_type": "text", "field_label": f["field_name"], **f})
    path = tmp_path / name
    path.write_text(out.getvalue())
    return path


def export(tmp_path, header: list[str], rows: list[list[str]], name="export.csv"):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    path = tmp_path / name
    path.write_text(out.getvalue())
    return path


def small(form="visit", extra: dict | None = None):
    fields = [{"field_name": "record_id", "form_name": form}, {"field_name": "score", "form_name": form,
                                                              "text_validation_type_or_show_slider_number": "integer"}]
    return fields + ([extra] if extra else [])


def refused(cli, db, *args, expect: str):
    result = cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert expect in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not db.exists() or batches_and_schemas(db) == ([], [])
    return result.stderr


@pytest.mark.parametrize("name", ["redcap_event_name", "redcap_repeat_instrument", "redcap_data_access_group",
                                  "visit_complete"])
def test_a_field_named_like_a_redcap_column_is_refused(cli, db, tmp_path, name):
    dic = dictionary(tmp_path, small(extra={"field_name": name, "form_name": "visit"}))
    data = export(tmp_path, ["record_id", "score"], [["1", "3"]])
    message = refused(cli, db, "ingest", data, "--dictionary", dic, "--db", db, expect=f"'{name}' collides")
    assert "rename" in message


@pytest.mark.parametrize("form", ["registry", "main", "batch_1"])
def test_a_form_named_like_the_registrys_own_schemas_is_refused(cli, db, tmp_path, form):
    dic = dictionary(tmp_path, small(form=form))
    refused(cli, db, "ingest", export(tmp_path, ["record_id", "score"], [["1", "3"]]), "--dictionary", dic,
            "--db", db, expect=f"form name '{form}' collides")


def test_names_over_redcaps_limits_are_refused_before_any_file_is_named_after_them(cli, db, tmp_path):
    long_field = "f" * 101
    dic = dictionary(tmp_path, small(extra={"field_name": long_field, "form_name": "visit"}))
    refused(cli, db, "ingest", export(tmp_path, ["record_id", "score"], [["1", "3"]]), "--dictionary", dic,
            "--db", db, expect="101 characters long")
    dic = dictionary(tmp_path, small(form="x" * 3000), name="long_form.csv")
    message = refused(cli, db, "checks", "build", "--dictionary", dic, "--out", tmp_path / "checks",
                      expect="3000 characters long")
    assert "File name too long" not in message and not (tmp_path / "checks").exists()


def test_a_form_named_j_or_raw_does_not_break_later_ingests(cli, db, tmp_path):
    for form in ("j", "raw"):
        dic = dictionary(tmp_path, small(form=form), name=f"{form}.csv")
        target = tmp_path / f"{form}.duckdb"
        for i in range(2):
            data = export(tmp_path, ["record_id", "score"], [["1", str(i)], ["2", "5"]], name=f"{form}{i}.csv")
            result = cli("ingest", data, "--dictionary", dic, "--db", target)
            assert result.exit_code == 0, result.stderr
        assert [b for b, _ in batches_and_schemas(target)[0]] == [1, 2]


def test_deep_branching_logic_and_calcs_are_refused_by_the_translator_naming_the_field(cli, tmp_path):
    deep_logic = "(" * 3000 + "[score] = 1" + ")" * 3000
    deep_calc = "(" * 3000 + "[score]" + ")" * 3000
    dic = dictionary(tmp_path, small(extra={"field_name": "shown_if", "form_name": "visit",
                                            "branching_logic": deep_logic}) +
                     [{"field_name": "doubled", "form_name": "visit", "field_type": "calc",
                       "select_choices_or_calculations": deep_calc}])
    result = cli("checks", "build", "--dictionary", dic, "--out", tmp_path / "checks")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    suite = json.loads((tmp_path / "checks" / "visit.json").read_text())
    whys = " ".join(json.dumps(e) for e in suite["expectations"])
    assert "shown_if" in whys and "nested 3000 deep" in whys
    assert "doubled" in whys and "more than 50 deep" in whys


def test_validate_refuses_a_checks_folder_without_a_suite_for_a_form(cli, db, tmp_path):
    dic = dictionary(tmp_path, small() + [{"field_name": "note", "form_name": "followup"}])
    data = export(tmp_path, ["record_id", "score", "visit_complete", "note", "followup_complete"],
                  [["1", "3", "2", "x", "2"]])
    assert cli("ingest", data, "--dictionary", dic, "--db", db).exit_code == 0
    assert cli("checks", "build", "--dictionary", dic, "--out", tmp_path / "checks").exit_code == 0
    (tmp_path / "checks" / "followup.json").unlink()
    result = cli("validate", "--db", db, "--checks", tmp_path / "checks")
    assert result.exit_code == 2
    assert "no suite for form(s) followup" in result.stderr and "checks build" in result.stderr
