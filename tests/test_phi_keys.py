"""Record IDs and data access groups pass the identifier scan; DAGs must be the project's."""

from __future__ import annotations

import csv
import io

import duckdb
import pytest
from conftest import SAMPLE, batches_and_schemas, refuse

from registry.phi import pseudonymise_keys, scan_keys

EXPORT = SAMPLE / "sample_export.csv"


def rewritten(tmp_path, name="export.csv", record=None, dag=None):
    """The sample export with record SIR-0001's ID and/or DAG replaced in every one of its rows."""
    rows = list(csv.reader(EXPORT.open(newline="")))
    header = rows[0]
    rid, g = header.index("record_id"), header.index("redcap_data_access_group")
    for row in rows[1:]:
        if row[rid] == "SIR-0001":
            if dag is not None and row[g]:
                row[g] = dag
            if record is not None:
                row[rid] = record
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = tmp_path / name
    path.write_text(out.getvalue())
    return path


@pytest.fixture
def registry(cli, db):
    assert cli("ingest", EXPORT, "--db", db, "--refuse-phi").exit_code == 0
    return db


@pytest.mark.parametrize(("record", "kind"), [
    ("123-45-6789", "ssn"), ("john.doe@gmail.com", "email"), ("MRN 1234567", "mrn"), ("555-867-5309", "phone"),
])
def test_a_record_id_that_looks_like_an_identifier_is_refused_without_printing_it(cli, registry, tmp_path, record,
                                                                                  kind):
    message = refuse(cli, registry, rewritten(tmp_path, record=record), "--refuse-phi", expect=f"the record ID: {kind}")
    assert record not in message


def test_under_redact_a_flagged_record_id_becomes_the_same_pseudonym_in_every_batch(cli, db, tmp_path):
    first = rewritten(tmp_path, "a.csv", record="123-45-6789")
    assert cli("ingest", first, "--db", db, "--redact").exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    ids = {r[0] for r in con.execute("select record_id from batch_1._records").fetchall()}
    stored = con.execute("select count(*) from batch_1._records where record_id like '%123-45%'").fetchone()[0]
    con.close()
    assert len(ids) == 120 and stored == 0 and "SIR-0002" in ids
    pseudonym = next(i for i in ids if i.startswith("ID-"))
    second = rewritten(tmp_path, "b.csv", record="123-45-6789", dag="valley_clinic")
    assert cli("ingest", second, "--db", db, "--redact").exit_code == 0
    con = duckdb.connect(str(db), read_only=True)
    again = {r[0] for r in con.execute("select record_id from batch_2._records").fetchall()}
    con.close()
    assert pseudonym in again


def test_a_dag_outside_the_projects_list_is_refused_with_the_row(cli, registry, tmp_path):
    message = refuse(cli, registry, rewritten(tmp_path, dag='=HYPERLINK("http://evil.example/x","site")'),
                     expect="not one of the project's DAGs")
    assert "row 1" in message and "north_clinic" in message


def test_a_dag_that_looks_like_an_identifier_is_found_and_pseudonymised():
    con = duckdb.connect()
    con.execute("create table raw as select * from (values (1, 'R1', 'jane.doe@example.org'), (2, 'R1', "
                "'jane.doe@example.org'), (3, 'R2', 'north_clinic')) t(__row, record_id, redcap_data_access_group)")
    con.execute("create schema registry")
    hits = scan_keys(con, "raw")
    assert [(h.row, h.field, h.kind) for h in hits] == [(1, "data access group", "email")]
    pseudonymise_keys(con, "raw", hits)
    dags = [r[0] for r in con.execute("select redcap_data_access_group from raw order by __row").fetchall()]
    assert dags[0] == dags[1] and dags[0].startswith("dag_") and dags[2] == "north_clinic"


def test_ordinary_record_ids_pass(registry):
    assert len(batches_and_schemas(registry)[0]) == 1
