"""Misplaced values through `registry pull` and in `registry status`: a pull refuses them as an
ingest does, `pull --ignore-misplaced` keeps them aside, and `status` says how many a batch kept."""

from __future__ import annotations

import json

from conftest import SAMPLE
from test_api_pull import FakeProject, batches, redcap, refuse, registry_project, token  # noqa: F401
from test_misplaced import adverse_event_row, mutate


def damaged_project(tmp_path) -> tuple[FakeProject, dict[str, str]]:
    """The registry project whose records hold one MADRS item on an adverse-event row."""
    export = tmp_path / "madrs_on_ae.csv"
    row = mutate(SAMPLE / "sample_export.csv", export, adverse_event_row, "madrs_1", "3")
    project = registry_project()
    return FakeProject(project.metadata, export, events=project.events, mapping=project.mapping,
                       repeating=project.repeating), row


def test_a_pull_with_a_misplaced_value_is_refused_and_ingests_nothing(cli, db, redcap, token, tmp_path):  # noqa: F811
    project, row = damaged_project(tmp_path)
    err = refuse(cli, "pull", "--url", redcap(project), "--db", db)
    assert "value(s) are on rows where their form cannot be" in err
    assert f"record {row['record_id']}, event {row['redcap_event_name']}" in err
    assert "--ignore-misplaced" in err
    assert batches(db) == []


def test_pull_ignore_misplaced_keeps_the_value_aside_and_status_counts_it(cli, db, redcap, token, tmp_path):  # noqa: F811
    project, row = damaged_project(tmp_path)
    result = cli("pull", "--url", redcap(project), "--db", db, "--ignore-misplaced")
    assert result.exit_code == 0, result.stderr
    assert "1 value(s) on rows where their form cannot be" in result.stdout
    status = cli("status", "--db", db, "--json")
    assert status.exit_code == 0, status.stderr
    assert json.loads(status.stdout)["misplaced_values"] == 1
    assert "misplaced values kept aside: 1" in cli("status", "--db", db).stdout


def test_status_of_a_clean_batch_counts_no_misplaced_values(cli, db):
    assert cli("ingest", SAMPLE / "sample_export.csv", "--db", db).exit_code == 0
    assert json.loads(cli("status", "--db", db, "--json").stdout)["misplaced_values"] == 0
