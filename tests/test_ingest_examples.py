"""Every real REDCap export we have ingests with every record and every cell accounted for."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from cell_walk import unaccounted
from conftest import REDCAP, SHARED, needs_shared

from registry import store

R = REDCAP / "REDCapR"
API = SHARED / "redcapAPI" / "offlineConnectionFiles"
RITS = SHARED / "REDCapRITS"

EXAMPLES = {
    "redcapr-longitudinal": (
        R / "longitudinal/data.csv",
        R / "longitudinal/dictionary.csv",
        ["--events", R / "longitudinal/event.csv"],
    ),
    "redcapr-longitudinal-events-inferred": (
        R / "longitudinal/data.csv",
        R / "longitudinal/dictionary.csv",
        [],
    ),
    "redcapr-repeating-sparse": (
        R / "repeating-instruments-sparse/data.csv",
        R / "repeating-instruments-sparse/dictionary.csv",
        [],
    ),
    "redcapr-checkboxes": (R / "checkboxes-1/data.csv", R / "checkboxes-1/dictionary.csv", []),
    "redcapr-survey": (R / "survey/data.csv", R / "survey/dictionary.csv", []),
    "redcap-etl-json": (
        REDCAP / "redcap-etl/repeating-events.json",
        REDCAP / "redcap-etl/repeating-events.json",
        [],
    ),
}
GPL_EXAMPLES = {
    "redcapapi-records": (
        API / "TestRedcapAPI_Records.csv",
        API / "TestRedcapAPI_DataDictionary.csv",
        [
            "--events",
            API / "TestRedcapAPI_Events.csv",
            "--mapping",
            API / "TestRedcapAPI_InstrumentDesignations.csv",
        ],
    ),
    "redcaprits-example-project": (
        RITS / "ExampleProject_DATA_2018-06-07_1129.csv",
        RITS / "ExampleProject_DataDictionary_2018-06-07.csv",
        [],
    ),
    "redcaprits-warrior": (
        RITS / "WARRIORtestForSoftwa_DATA_2018-06-21_1431.csv",
        RITS / "WARRIORtestForSoftwareUpgrades_DataDictionary_2018-06-21.csv",
        [],
    ),
}


def read_export_rows(path: Path) -> tuple[list[str], list[dict]]:
    if path.suffix == ".json":
        records = json.loads(path.read_text())["records"]
        return list(records[0]), [{k: str(v) for k, v in r.items()} for r in records]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def check_example(cli, db, export, dictionary, extra):
    result = cli("ingest", export, "--dictionary", dictionary, "--db", db, *extra)
    assert result.exit_code == 0, result.stderr
    status = cli.json("status", "--db", db, "--json")
    header, rows = read_export_rows(export)
    record_ids = {r[header[0]] for r in rows}
    assert status["records"] == len(record_ids)
    assert status["batch_id"] == 1
    assert sum(status["instruments"].values()) > 0
    assert unaccounted(db, export) == []  # every non-empty cell stored or recorded (tests/cell_walk.py)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_permissive_example_ingests_with_every_record_and_value(cli, db, name):
    check_example(cli, db, *EXAMPLES[name])


@needs_shared()
@pytest.mark.parametrize("name", sorted(GPL_EXAMPLES))
def test_every_gpl_example_ingests_from_shared_with_every_record_and_value(cli, db, name):
    check_example(cli, db, *GPL_EXAMPLES[name])


def test_repeating_instrument_rows_are_keyed_by_instance(cli, db):
    cli(
        "ingest",
        R / "repeating-instruments-sparse/data.csv",
        "--dictionary",
        R / "repeating-instruments-sparse/dictionary.csv",
        "--db",
        db,
    )
    con = store.connect(db, read_only=True)
    keys = con.execute("select record_id, redcap_repeat_instance from bp order by all").fetchall()
    assert all(instance is not None for _, instance in keys)
    assert (
        con.execute("select count(*) from demographics where redcap_repeat_instance is not null").fetchone()[
            0
        ]
        == 0
    )


def test_repeating_events_and_instruments_share_the_instance_columns(cli, db):
    export = REDCAP / "redcap-etl/repeating-events.json"
    cli("ingest", export, "--dictionary", export, "--db", db)
    con = store.connect(db, read_only=True)
    events = dict(
        con.execute("select redcap_event_name like 'visit_arm_%', count(*) from weight group by 1").fetchall()
    )
    assert events[True] > 0  # weight on the repeating event visit_arm_N, keyed by event instance
    instances = con.execute(
        "select count(*) from weight where redcap_event_name like 'visit_arm_%' and redcap_repeat_instance is null"
    ).fetchone()[0]
    assert instances == 0


def test_checkbox_columns_become_booleans_named_as_redcap_names_them(cli, db):
    cli("ingest", R / "checkboxes-1/data.csv", "--dictionary", R / "checkboxes-1/dictionary.csv", "--db", db)
    con = store.connect(db, read_only=True)
    types = dict(
        con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'batch_1' and table_name = 'form_2'"
        ).fetchall()
    )
    assert types["check_one___1"] == "BOOLEAN"
    assert types["check_two___a"] == "BOOLEAN"


def test_identifier_fields_never_reach_the_registry(cli, db):
    cli("ingest", R / "longitudinal/data.csv", "--dictionary", R / "longitudinal/dictionary.csv", "--db", db)
    status = cli.json("status", "--db", db, "--json")
    assert set(status["dropped_identifiers"]) == {"first_name", "last_name", "telephone_1", "email", "dob"}
    assert b"zlehnox@gmail.com" not in db.read_bytes()
    assert b"Lenox" not in db.read_bytes()


def test_events_are_inferred_from_the_export_when_no_events_file_is_given(cli, db):
    export = R / "longitudinal/data.csv"
    cli("ingest", export, "--dictionary", R / "longitudinal/dictionary.csv", "--db", db)
    con = store.connect(db, read_only=True)
    forms = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() "
        "where schema_name = 'batch_1' and table_name not like '\\_%' escape '\\'"
        ).fetchall()
    ]
    stored = set()
    for form in forms:
        stored |= {
            r[0] for r in con.execute(f'select distinct redcap_event_name from batch_1."{form}"').fetchall()
        }
    _, rows = read_export_rows(export)
    assert stored == {r["redcap_event_name"] for r in rows}
    assert "deadline_to_opt_ou_arm_2" in stored


def test_a_foreign_project_with_identifiers_in_free_text_is_stored_redacted_by_default(cli, db):
    # This public test project keeps made-up addresses and phone numbers in untagged free text.
    export = REDCAP / "redcap-etl/repeating-events.json"
    result = cli("ingest", export, "--dictionary", export, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "redacted" in result.stdout
    status = cli.json("status", "--db", db, "--json")
    assert status["redacted"] > 0


def test_refuse_phi_refuses_a_foreign_project_with_identifiers_in_free_text(cli, db):
    export = REDCAP / "redcap-etl/repeating-events.json"
    result = cli("ingest", export, "--dictionary", export, "--db", db, "--refuse-phi")
    assert result.exit_code != 0
    assert "home_address: street_address" in result.stderr


@pytest.mark.parametrize("dialect", ["crlf-bom", "tab", "semicolon", "pipe"])
def test_bom_crlf_and_every_redcap_delimiter_load_the_same_rows(cli, tmp_path, dialect):
    source = R / "checkboxes-1/data.csv"
    text = source.read_text()
    if dialect == "crlf-bom":
        out = "\ufeff" + text.replace("\n", "\r\n")
    else:
        rows = list(csv.reader(text.splitlines(keepends=True)))
        delim = {"tab": "\t", "semicolon": ";", "pipe": "|"}[dialect]
        buf = __import__("io").StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="\n").writerows(rows)
        out = buf.getvalue()
    path = tmp_path / "export.csv"
    path.write_text(out, newline="")
    reference, other = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for export, db in ((source, reference), (path, other)):
        assert cli("ingest", export, "--dictionary", R / "checkboxes-1/dictionary.csv", "--db", db).exit_code == 0
    rows = []
    for db in (reference, other):
        con = store.connect(db, read_only=True)
        rows.append(con.execute("select * from form_2 order by all").fetchall())
        con.close()
    assert rows[0] == rows[1] and len(rows[0]) == 3
