"""The registry's REDCap project (schemas/registry_project) and the synthetic exports (sample_data)."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from registry.redcap.dictionary import checkbox_column, read_dictionary

ROOT = Path(__file__).resolve().parents[1]
# sample_data is a top-level folder, not an installed package: make it importable when pytest
# is started as `pytest` rather than `python -m pytest` from the repository root.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sample_data.generate import (  # noqa: E402
    BUNDLED,
    build_export,
    generate_export,
    main,
    manifest_path,
    regenerate_bundled,
)

PROJECT = ROOT / "schemas" / "registry_project"
SAMPLES = ROOT / "sample_data"
KEYS = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
MADRS_CHOICES = " | ".join(f"{k}, {k}" for k in range(7))
HAMD_0_4 = {1, 2, 3, 7, 8, 9, 10, 11, 15}
YESNO = ""


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def day(row: dict, field: str, index: dict[str, date]) -> int:
    return (date.fromisoformat(row[field]) - index[row["record_id"]]).days


def index_dates(rows: list[dict]) -> dict[str, date]:
    return {r["record_id"]: date.fromisoformat(r["dem_index_date"])
            for r in rows if r["redcap_event_name"] == "baseline_arm_1"}


@pytest.fixture(scope="module")
def clean_text() -> str:
    return generate_export(patients=150, seed=11)


@pytest.fixture(scope="module")
def clean(clean_text) -> list[dict[str, str]]:
    return rows_of(clean_text)


@pytest.fixture(scope="module")
def dictionary():
    return read_dictionary(PROJECT / "dictionary.csv")


# -- the project ------------------------------------------------------------------------------
def spec_fields() -> dict[str, dict]:
    """The contract of shared/spec/registry_project.md, field by field."""
    f: dict[str, dict] = {}

    def add(name, form, ftype, validation="", vmin="", vmax="", choices=None, required=False, branching=""):
        f[name] = dict(form=form, type=ftype, validation=validation, vmin=vmin, vmax=vmax, choices=choices,
                       required=required, branching=branching)

    add("record_id", "demographics", "text")
    add("dem_cohort", "demographics", "radio", required=True,
        choices="1, Sirolimus-augmented esketamine | 2, Esketamine alone")
    add("dem_age", "demographics", "text", "integer", "18", "90", required=True)
    add("dem_sex", "demographics", "radio", required=True,
        choices="1, Female | 2, Male | 3, Other | 99, Unknown")
    add("dem_race", "demographics", "checkbox",
        choices="1, American Indian or Alaska Native | 2, Asian | 3, Black or African American | "
                "4, Native Hawaiian or Other Pacific Islander | 5, White | 6, Other | 99, Unknown")
    add("dem_ethnicity", "demographics", "radio",
        choices="1, Hispanic or Latino | 2, Not Hispanic or Latino | 99, Unknown")
    add("dem_index_date", "demographics", "text", "date_ymd", required=True)
    add("dem_esk_start_date", "demographics", "text", "date_ymd")
    add("dem_tx_failures", "demographics", "text", "integer", "0", "30")
    add("dem_concomitant", "demographics", "checkbox",
        choices="1, SSRI | 2, SNRI | 3, Bupropion | 4, TCA | 5, MAOI | 6, Mirtazapine | "
                "7, Second-generation antipsychotic | 8, Lithium | 9, Other mood stabilizer | "
                "10, Stimulant | 11, Benzodiazepine | 12, Psychotherapy | 13, Other")
    for name in ("elig_mde", "elig_trd", "elig_no_remission", "elig_included"):
        add(name, "eligibility", "yesno", choices=YESNO, required=name == "elig_included")
    add("madrs_date", "madrs", "text", "date_ymd", required=True)
    for i in range(1, 11):
        add(f"madrs_{i}", "madrs", "radio", choices=MADRS_CHOICES)
    add("madrs_total", "madrs", "calc", required=True)
    add("phq9_date", "phq9", "text", "date_ymd", required=True)
    for i in range(1, 10):
        add(f"phq9_{i}", "phq9", "radio",
            choices="0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day")
    add("phq9_10", "phq9", "radio",
        choices="0, Not difficult at all | 1, Somewhat difficult | 2, Very difficult | "
                "3, Extremely difficult")
    add("phq9_total", "phq9", "calc", required=True)
    add("hamd_date", "hamd", "text", "date_ymd", required=True)
    for i in range(1, 18):
        top = 4 if i in HAMD_0_4 else 2
        add(f"hamd_{i}", "hamd", "radio", choices=" | ".join(f"{k}, {k}" for k in range(top + 1)))
    add("hamd_total", "hamd", "calc", required=True)
    add("esk_date", "esketamine_session", "text", "date_ymd", required=True)
    add("esk_dose_mg", "esketamine_session", "radio", required=True,
        choices="28, 28 mg | 56, 56 mg | 84, 84 mg")
    add("esk_sirolimus", "esketamine_session", "yesno", choices=YESNO)
    add("esk_madrs_total", "esketamine_session", "text", "integer", "0", "60")
    add("esk_phq9_total", "esketamine_session", "text", "integer", "0", "27")
    add("sir_date", "sirolimus_dose", "text", "date_ymd", required=True)
    add("sir_dose_mg", "sirolimus_dose", "text", "number", required=True)
    add("sir_hours_before", "sirolimus_dose", "text", "number", branching="[sir_taken] = '1'")
    add("sir_taken", "sirolimus_dose", "yesno", choices=YESNO, required=True)
    ae = "[ae_date] <> ''"
    add("ae_date", "adverse_event", "text", "date_ymd")
    add("ae_term", "adverse_event", "text", branching=ae)
    add("ae_severity", "adverse_event", "radio", choices="1, Mild | 2, Moderate | 3, Severe", branching=ae)
    add("ae_serious", "adverse_event", "yesno", choices=YESNO, branching=ae)
    add("ae_related", "adverse_event", "radio",
        choices="1, Not related | 2, Possibly | 3, Probably | 4, Definitely", branching=ae)
    add("disp_last_date", "disposition", "text", "date_ymd", required=True)
    add("disp_status", "disposition", "radio",
        choices="1, Completed follow-up | 2, Discontinued | 3, Lost to follow-up", required=True)
    add("disp_reason", "disposition", "notes", branching="[disp_status] = '2' or [disp_status] = '3'")
    add("relapse_event", "disposition", "yesno", choices=YESNO, required=True)
    add("relapse_date", "disposition", "text", "date_ymd", required=True, branching="[relapse_event] = '1'")
    add("relapse_type", "disposition", "checkbox",
        choices="1, Psychiatric hospitalization | 2, Suicide attempt | 3, ECT or other escalation | "
                "4, Clinician-judged relapse", branching="[relapse_event] = '1'")
    return f


def test_the_dictionary_has_every_spec_field_with_its_type_validation_choices_and_logic(dictionary):
    spec = spec_fields()
    assert [f.name for f in dictionary.fields] == list(spec)
    for name, want in spec.items():
        f = dictionary.by_name[name]
        got = dict(form=f.form, type=f.field_type, validation=f.validation, vmin=f.vmin, vmax=f.vmax,
                   choices=f.choices_text if want["choices"] is not None else None,
                   required=f.required, branching=f.branching_logic)
        assert got == want, name
        assert not f.identifier, f"{name} is tagged as an identifier, but the registry is de-identified"


def test_hamd_items_are_scored_0_to_4_or_0_to_2_as_the_spec_says(dictionary):
    tops = {i: max(int(c.code) for c in dictionary.by_name[f"hamd_{i}"].choices) for i in range(1, 18)}
    assert {i for i, top in tops.items() if top == 4} == HAMD_0_4
    assert sum(tops.values()) == 52


def test_calc_totals_sum_the_right_items_and_carry_no_min_or_max(dictionary):
    items = {"madrs_total": range(1, 11), "phq9_total": range(1, 10), "hamd_total": range(1, 18)}
    for total, numbers in items.items():
        f = dictionary.by_name[total]
        prefix = total.removesuffix("_total")
        assert re.findall(r"\[([a-z0-9_]+)\]", f.choices_text) == [f"{prefix}_{i}" for i in numbers]
        assert (f.vmin, f.vmax, f.validation) == ("", "", "")


def test_the_dictionary_file_is_written_like_redcaps_download():
    raw = (PROJECT / "dictionary.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    header = raw.split(b"\n", 1)[0].decode()
    assert header.startswith('"Variable / Field Name","Form Name","Section Header","Field Type",')
    assert ',Identifier?,"Branching Logic (Show field only if...)",' in header
    assert header.endswith('"Matrix Ranking?","Field Annotation"')
    assert "\nmadrs_total,madrs,,calc," in raw.decode()


def test_the_project_files_describe_the_spec_events_mapping_repeats_and_sites():
    def read(name):
        with open(PROJECT / name, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    events = {e["unique_event_name"]: e for e in read("events.csv")}
    assert list(events) == ["baseline_arm_1", "week_8_arm_1", "week_16_arm_1", "treatment_log_arm_1",
                            "study_end_arm_1"]
    windows = {k: (e["day_offset"], e["offset_min"], e["offset_max"]) for k, e in events.items()}
    assert windows["baseline_arm_1"] == ("0", "14", "0")
    assert windows["week_8_arm_1"] == ("56", "14", "14")
    assert windows["week_16_arm_1"] == ("112", "14", "14")
    mapping = defaultdict(list)
    for m in read("instrument_event_mapping.csv"):
        mapping[m["unique_event_name"]].append(m["form"])
    assert mapping["baseline_arm_1"] == ["demographics", "eligibility", "madrs", "phq9", "hamd"]
    assert mapping["week_16_arm_1"] == ["madrs", "phq9", "hamd"]
    assert mapping["study_end_arm_1"] == ["disposition"]
    repeating = [(r["event_name"], r["form_name"]) for r in read("repeating_instruments.csv")]
    assert repeating == [("treatment_log_arm_1", f)
                         for f in ("esketamine_session", "sirolimus_dose", "adverse_event")]
    labels = {r["instrument_name"]: r["instrument_label"] for r in read("instruments.csv")}
    assert labels["esketamine_session"] == "Esketamine Session" and labels["phq9"] == "PHQ-9"
    dags = read("dags.csv")
    assert len(dags) >= 3 and all(re.fullmatch(r"[a-z0-9_]+", g["unique_group_name"]) for g in dags)


# -- the generated exports --------------------------------------------------------------------
def test_the_same_seed_gives_byte_identical_output_and_another_seed_does_not():
    assert generate_export(40, 7) == generate_export(40, 7)
    assert generate_export(40, 7) != generate_export(40, 8)


def test_the_header_is_the_column_order_computed_from_the_dictionary(clean_text, dictionary):
    want = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
            "redcap_data_access_group"]
    for form in dictionary.forms:
        for f in dictionary.fields:
            if f.form != form or f.name == "record_id":
                continue
            if f.field_type == "checkbox":
                want += [checkbox_column(f.name, c.code) for c in f.choices]
            else:
                want.append(f.name)
        want.append(f"{form}_complete")
    assert clean_text.split("\n", 1)[0] == ",".join(want)


def test_the_file_is_utf8_with_lf_endings_no_bom_and_redcap_quoting(clean_text):
    raw = clean_text.encode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    labels = generate_export(30, 11, labels=True)
    assert ',"Week 8",,,' in labels and ',"Esketamine Session",' in labels
    for line in clean_text.splitlines()[1:]:
        for cell in next(csv.reader([line])):
            if re.search(r'[ ,"]', cell):
                assert f'"{cell}"' in line


def test_totals_equal_their_item_sums_in_the_clean_export(clean):
    for row in clean:
        for form, items in (("madrs", range(1, 11)), ("phq9", range(1, 10)), ("hamd", range(1, 18))):
            if row[f"{form}_total"]:
                items_sum = sum(int(row[f"{form}_{i}"]) for i in items)
                assert int(row[f"{form}_total"]) == items_sum, row["record_id"]


def test_every_record_has_one_baseline_row_and_one_study_end_row(clean):
    records = {r["record_id"] for r in clean}
    assert len(records) == 150 and min(records) == "SIR-0001"
    for event in ("baseline_arm_1", "study_end_arm_1"):
        assert sorted(r["record_id"] for r in clean if r["redcap_event_name"] == event) == sorted(records)


def test_some_records_miss_week_8_or_week_16(clean):
    with_visit = {e: {r["record_id"] for r in clean if r["redcap_event_name"] == e}
                  for e in ("week_8_arm_1", "week_16_arm_1")}
    assert 0 < len(with_visit["week_8_arm_1"]) < 150 and 0 < len(with_visit["week_16_arm_1"]) < 150


def test_the_sirolimus_cohort_has_exactly_two_doses_on_day_0_and_day_28_within_3_days(clean):
    index = index_dates(clean)
    cohort = {r["record_id"]: r["dem_cohort"] for r in clean if r["redcap_event_name"] == "baseline_arm_1"}
    doses = defaultdict(list)
    for r in clean:
        if r["redcap_repeat_instrument"] == "sirolimus_dose":
            doses[r["record_id"]].append(r)
    sirolimus = [rid for rid, c in cohort.items() if c == "1"]
    assert 0.25 < len(sirolimus) / len(cohort) < 0.55
    for rid in sirolimus:
        days = [day(d, "sir_date", index) for d in doses[rid]]
        assert len(days) == 2 and days[0] == 0 and 25 <= days[1] <= 31, rid
        for d in doses[rid]:
            assert (d["sir_dose_mg"], d["sir_hours_before"], d["sir_taken"]) == ("6", "2", "1")


def test_the_comparator_cohort_has_no_sirolimus_dose(clean):
    comparator = {r["record_id"] for r in clean if r["dem_cohort"] == "2"}
    assert comparator
    dosed = {r["record_id"] for r in clean if r["redcap_repeat_instrument"] == "sirolimus_dose"}
    assert not dosed & comparator


def test_visits_sessions_and_relapses_fall_inside_follow_up_and_their_windows(clean):
    index = index_dates(clean)
    ends = [r for r in clean if r["redcap_event_name"] == "study_end_arm_1"]
    last = {r["record_id"]: day(r, "disp_last_date", index) for r in ends}
    windows = {"baseline_arm_1": (-14, 0), "week_8_arm_1": (42, 70), "week_16_arm_1": (98, 126)}
    for r in clean:
        rid = r["record_id"]
        for field in ("madrs_date", "phq9_date", "hamd_date", "esk_date", "sir_date", "ae_date"):
            if r[field]:
                d = day(r, field, index)
                assert d <= last[rid], (rid, field)
                if r["redcap_event_name"] in windows:
                    lo, hi = windows[r["redcap_event_name"]]
                    assert lo <= d <= hi, (rid, field, d)
        if r["redcap_event_name"] == "study_end_arm_1":
            if r["relapse_event"] == "1":
                assert 0 < day(r, "relapse_date", index) <= last[rid]
                assert "1" in [r[f"relapse_type___{c}"] for c in "1234"]
            else:
                assert r["relapse_date"] == "" and [r[f"relapse_type___{c}"] for c in "1234"] == ["0"] * 4
            assert bool(r["disp_reason"]) == (r["disp_status"] in {"2", "3"})


def test_cells_of_forms_not_on_the_row_are_blank_and_checkboxes_are_0_or_1_where_they_are(clean):
    for r in clean:
        on_baseline = r["redcap_event_name"] == "baseline_arm_1"
        assert (r["dem_race___5"] in {"0", "1"}) == on_baseline
        assert (r["demographics_complete"] != "") == on_baseline
        on_session = r["redcap_repeat_instrument"] == "esketamine_session"
        assert (r["esketamine_session_complete"] != "") == on_session
        assert (r["redcap_repeat_instance"] != "") == (r["redcap_event_name"] == "treatment_log_arm_1")
        assert r["redcap_data_access_group"]


def test_the_labels_export_has_the_same_rows_and_keys_as_the_raw_export(clean):
    labelled = rows_of(generate_export(patients=150, seed=11, labels=True))
    events = {"Baseline": "baseline_arm_1", "Week 8": "week_8_arm_1", "Week 16": "week_16_arm_1",
              "Treatment log": "treatment_log_arm_1", "End of follow-up": "study_end_arm_1"}
    forms = {"": "", "Esketamine Session": "esketamine_session", "Sirolimus Dose": "sirolimus_dose",
             "Adverse Event": "adverse_event"}
    assert len(labelled) == len(clean)
    for raw, lab in zip(clean, labelled, strict=True):
        assert (lab["record_id"], events[lab["redcap_event_name"]], forms[lab["redcap_repeat_instrument"]],
                lab["redcap_repeat_instance"]) == tuple(raw[k] for k in KEYS)
        assert lab["madrs_total"] == raw["madrs_total"] and lab["esk_date"] == raw["esk_date"]
    first = labelled[0]
    assert first["dem_race___5"] in {"Checked", "Unchecked"} and first["demographics_complete"] in {
        "Incomplete", "Unverified", "Complete"}
    assert first["elig_included"] in {"Yes", "No"} and " " in first["redcap_data_access_group"]


def row_of(entry: dict, rows: list[dict], dictionary) -> dict:
    """The export row a manifest entry points at (the field's form tells the repeating instrument)."""
    form = dictionary.by_name[entry["field"]].form if entry["instance"] else ""
    key = (entry["record_id"], entry["event"], form, str(entry["instance"] or ""))
    [row] = [r for r in rows if tuple(r[k] for k in KEYS) == key]
    return row


def test_every_dirty_manifest_entry_exists_in_the_dirty_file(tmp_path, dictionary):
    out = build_export(60, 20260101, dirty=True).write(tmp_path / "dirty.csv")
    manifest = json.loads(manifest_path(out).read_text())
    rows = rows_of(out.read_text())
    assert len(manifest) >= 20
    for entry in manifest:
        row = row_of(entry, rows, dictionary)
        assert set(entry) == {"record_id", "event", "instance", "field", "problem"}
        if entry["problem"] != "required_field_blank":
            assert row[entry["field"]] != "", entry


def test_the_dirty_export_plants_every_listed_problem_in_its_own_record():
    manifest = build_export(60, 20260101, dirty=True).manifest
    problems = {e["problem"] for e in manifest}
    assert problems >= {
        "madrs_item_out_of_range", "hamd_item_out_of_range", "madrs_total_not_item_sum",
        "phq9_total_includes_item_10", "week_16_out_of_window", "week_8_out_of_window",
        "baseline_after_day_0", "sirolimus_dose_not_6_mg", "sirolimus_not_2_hours_before",
        "sirolimus_second_dose_not_28_days_after_first",
        "sirolimus_first_dose_not_on_day_0", "sirolimus_dose_in_comparator_cohort", "age_out_of_range",
        "required_field_blank", "hidden_field_has_value", "invalid_choice_code", "not_a_date",
        "session_after_last_contact", "relapse_after_last_contact", "week_8_before_baseline",
    }
    by_record = defaultdict(set)
    for e in manifest:
        by_record[e["record_id"]].add(e["problem"])
    assert all(len(p) == 1 for p in by_record.values())


def test_dirty_records_not_in_the_manifest_equal_the_clean_ones():
    clean = rows_of(generate_export(60, 20260101))
    dirty_export = build_export(60, 20260101, dirty=True)
    touched = {e["record_id"] for e in dirty_export.manifest}
    dirty = rows_of(dirty_export.text())
    untouched = [r for r in clean if r["record_id"] not in touched]
    assert untouched == [r for r in dirty if r["record_id"] not in touched]


def test_phi_is_planted_only_where_the_manifest_says_and_the_clean_export_has_none(clean_text, dictionary):
    patterns = {
        "email": r"[\w.]+@[\w.]+", "phone": r"\(\d{3}\) \d{3}-\d{4}", "ssn": r"\b\d{3}-\d{2}-\d{4}\b",
        "street_address": r"\d+ [A-Z][a-z]+ (Street|Avenue|Lane|Road|Court)",
        "date": r"[A-Z][a-z]+ \d{1,2}, \d{4}",
    }
    for pattern in patterns.values():
        assert not re.search(pattern, clean_text)
    export = build_export(20, 20260101, phi=True)
    rows = rows_of(export.text())
    assert {e["kind"] for e in export.manifest} == set(patterns)
    for e in export.manifest:
        assert set(e) == {"record_id", "event", "instance", "field", "kind"}
        assert re.search(patterns[e["kind"]], row_of(e, rows, dictionary)[e["field"]])


def test_the_bundled_files_equal_a_fresh_regeneration(tmp_path):
    written = regenerate_bundled(tmp_path)
    names = {p.name for p in written}
    manifests = {"dirty_export_manifest.json", "phi_export_manifest.json"}
    assert names == {name for name, *_ in BUNDLED} | manifests
    for path in written:
        stale = f"{path.name} is stale: run python -m sample_data.generate --bundled"
        assert (SAMPLES / path.name).read_bytes() == path.read_bytes(), stale


def test_the_readme_commands_reproduce_the_bundled_dirty_export(tmp_path, capsys):
    out = tmp_path / "dirty_export.csv"
    assert main(["--patients", "60", "--seed", "20260101", "--dirty", "--out", str(out)]) == 0
    assert out.read_bytes() == (SAMPLES / "dirty_export.csv").read_bytes()
    assert manifest_path(out).read_bytes() == (SAMPLES / "dirty_export_manifest.json").read_bytes()
    assert "60 records" in capsys.readouterr().err


def test_the_command_line_asks_for_an_output_file():
    with pytest.raises(SystemExit) as exc:
        main(["--patients", "5"])
    assert exc.value.code == 2
