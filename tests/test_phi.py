"""The PHI gate: identifiers in free text are found in SQL, reported without values, redacted."""

from __future__ import annotations

import duckdb
import pytest

from registry.phi import PhiHit, format_phi_refusal, redact_identifiers, scan_identifiers
from registry.redcap.dictionary import Field

NOTE = Field("disp_reason", "disposition", "notes")
TERM = Field("ae_term", "adverse_event", "text")
AGE = Field("dem_age", "demographics", "text", validation="integer")
DATE = Field("ae_date", "adverse_event", "text", validation="date_ymd")

CLINICAL_TEXT = [
    "56 mg", "Week 8", "2 h", "PHQ-9 10", "BP 120/80", "HR 0.49 (95% CI 0.29-0.84)",
    "MADRS 22 on day 56", "score 10/27", "84 mg x2 at 10:30", "ICD-10 F33.2", "started in 2019",
    "took 2-3 days", "lost 5 lbs along the way", "nausea grade 2", "28 +/- 3 days",
    "Discontinued: moved away", "sirolimus 6 mg 2h before esketamine",
    "3 sessions per week for 4 weeks", "relapse on day 140", "a 45-year-old woman", "aged 90+ group",
    "MADRS 12345 typo", "IN 2 weeks",
]
IDENTIFIERS = [
    ("contact john.doe@example.com", "email"),
    ("call (555) 867-5309 after 5", "phone"),
    ("cell 555.867.5309", "phone"),
    ("fax: 555 867 5309", "fax"),
    ("SSN 123-45-6789", "ssn"),
    ("MRN: 00123456", "mrn"),
    ("chart #A12345", "mrn"),
    ("see https://clinic.example.org/p/1", "url"),
    ("www.example.com", "url"),
    ("logged from 192.168.1.20", "ip_address"),
    ("lives at 12 Main Street", "street_address"),
    ("PO Box 123", "street_address"),
    ("seen on 2023-04-05", "date"),
    ("seen on 4/5/2023", "date"),
    ("seen March 5", "date"),
    ("seen on the 5th of March", "date"),
    ("moved to Boston, MA 02115", "zip_code"),
    ("zip 02115-1234", "zip_code"),
    ("a 92-year-old man", "age_over_89"),
    ("patient aged 95", "age_over_89"),
]


def export_table(texts: list[str | None], ages: list[str | None] | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create temp table raw (__row bigint, record_id varchar, redcap_event_name varchar, "
        "redcap_repeat_instance varchar, disp_reason varchar, ae_term varchar, dem_age varchar, "
        "ae_date varchar)"
    )
    ages = ages or [None] * len(texts)
    con.executemany(
        "insert into raw values (?, ?, ?, ?, ?, ?, ?, ?)",
        [(i + 1, f"SIR-{i:04d}", "study_end_arm_1", None, t, None, a, "2023-04-05")
         for i, (t, a) in enumerate(zip(texts, ages, strict=True))],
    )
    return con


def test_ordinary_clinical_text_is_not_an_identifier():
    con = export_table(CLINICAL_TEXT)
    assert scan_identifiers(con, "raw", [NOTE, TERM]) == []


@pytest.mark.parametrize(("text", "kind"), IDENTIFIERS)
def test_each_kind_of_identifier_in_free_text_is_found(text, kind):
    con = export_table([text])
    hits = scan_identifiers(con, "raw", [NOTE])
    assert kind in {h.kind for h in hits}
    cells = {(h.record_id, h.event, h.field, h.row) for h in hits}
    assert cells == {("SIR-0000", "study_end_arm_1", "disp_reason", 1)}


def test_validated_date_fields_are_not_scanned_as_free_text():
    con = export_table(["fine"])
    assert scan_identifiers(con, "raw", [NOTE, DATE]) == []


def test_ages_over_90_are_hits_and_90_itself_is_the_top_code():
    con = export_table(["a", "b", "c"], ages=["89", "90", "97"])
    hits = scan_identifiers(con, "raw", [AGE])
    assert [(h.row, h.field, h.kind) for h in hits] == [(3, "dem_age", "age_over_89")]


def test_the_instance_is_read_as_an_integer():
    con = export_table(["mail me at a@b.org"])
    con.execute("update raw set redcap_repeat_instance = '3'")
    assert scan_identifiers(con, "raw", [NOTE])[0].instance == 3


def test_fields_without_a_column_are_skipped():
    con = export_table(["a@b.org"])
    assert scan_identifiers(con, "raw", [Field("not_there", "f", "notes")]) == []


def test_the_refusal_names_record_event_field_and_kind_but_never_the_value():
    con = export_table(["call 555-867-5309", "write to jane@example.org"])
    hits = scan_identifiers(con, "raw", [NOTE])
    message = format_phi_refusal(hits, "export.csv")
    assert "555" not in message and "jane" not in message and "example" not in message
    assert "record SIR-0000, event study_end_arm_1, field disp_reason: phone" in message
    assert "record SIR-0001, event study_end_arm_1, field disp_reason: email" in message
    assert message.startswith("export.csv: 2 cells look like an identifier")


def test_a_long_refusal_lists_the_first_twenty_cells_and_counts_the_rest():
    hits = [PhiHit(f"R{i}", None, None, "note", "email", i) for i in range(25)]
    message = format_phi_refusal(hits, "x.csv")
    assert "and 5 more" in message
    assert message.count("field note: email") == 20


def test_redaction_replaces_each_hit_by_a_marker_and_top_codes_ages():
    con = export_table(["call 555-867-5309", "nothing here", "jane@example.org and 555-867-5309"],
                       ages=["95", "40", None])
    hits = scan_identifiers(con, "raw", [NOTE, AGE])
    redact_identifiers(con, "raw", hits)
    rows = con.execute("select disp_reason, dem_age from raw order by __row").fetchall()
    assert rows == [("[REDACTED:phone]", "90"), ("nothing here", "40"), ("[REDACTED:email]", None)]
    assert scan_identifiers(con, "raw", [NOTE, AGE]) == []


def test_an_age_written_in_free_text_gets_a_marker_not_the_top_code():
    con = export_table(["a 93-year-old"])
    redact_identifiers(con, "raw", scan_identifiers(con, "raw", [NOTE]))
    assert con.execute("select disp_reason from raw").fetchall() == [("[REDACTED:age_over_89]",)]


def test_redacting_nothing_changes_nothing():
    con = export_table(["x"])
    redact_identifiers(con, "raw", [])
    assert con.execute("select disp_reason from raw").fetchall() == [("x",)]


def test_a_table_name_that_is_not_an_identifier_is_refused():
    con = export_table(["x"])
    with pytest.raises(ValueError):
        scan_identifiers(con, "raw; drop table raw", [NOTE])


def test_every_cell_of_a_large_table_is_scanned_and_only_the_identifier_found():
    # speed is measured in bench/bench_phi.py, not asserted here
    con = duckdb.connect()
    con.execute(
        "create table raw as select i::bigint as __row, 'SIR-' || (i // 24) as record_id, "
        "'treatment_log_arm_1' as redcap_event_name, (i % 24)::varchar as redcap_repeat_instance, "
        "case when i % 3 = 0 then 'Nausea grade 2 after 56 mg on Week 8, resolved in 2 h' end as ae_term, "
        "case when i % 7 = 0 then 'PHQ-9 10 at the last visit' end as disp_reason, "
        "(18 + i % 70)::varchar as dem_age from range(50000) r(i)"
    )
    con.execute("update raw set disp_reason = 'call 555-867-5309' where __row = 4242")
    con.execute("update raw set ae_term = 'Seen by Dr. Okafor' where __row = 30000")
    hits = scan_identifiers(con, "raw", [NOTE, TERM, AGE])
    assert [(h.row, h.kind) for h in hits] == [(4242, "phone"), (30000, "name")]
