"""`registry pull`: a REDCap API export ingested as one batch, tested against a local
REDCap API (a threaded http.server on 127.0.0.1, ephemeral port) answering from the example
files; HTTP errors, REDCap error JSON, dropped connections and lost records ingest nothing."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from conftest import REDCAP, ROOT, SAMPLE, SHARED

from registry import store

TOKEN = "5F1C0DE2A93B4E7781C2D3E4F5A6B7C8"
PROJECT = ROOT / "schemas" / "registry_project"
EXPORT = SAMPLE / "sample_export.csv"
EXAMPLES = SHARED if (SHARED / "REDCapR" / "longitudinal").exists() else REDCAP
LONG = EXAMPLES / "REDCapR" / "longitudinal"
NO_RIGHTS = "You do not have permissions to use the API"


@dataclass
class FakeProject:
    """What the fake REDCap answers, and how it misbehaves."""

    metadata: Path
    records: Path
    events: Path | None = None
    mapping: Path | None = None
    repeating: Path | None = None
    refuse_status: int | None = None  # answer every request with this status and REDCap's error JSON
    drop_on_batch: int | None = None  # record batch (1-based) during which the connection is dropped
    drop_mode: str = "close"  # close: no answer at all; partial: half a body, then close
    lose_record_on_batch: int | None = None  # leave the first record of this batch out, silently
    error_on_records: str | None = None  # answer record batches with HTTP 200 and this error JSON
    requests: list = field(default_factory=list)  # (content, fields without the token)
    batches: int = 0

    def __post_init__(self):
        rows = list(csv.reader(io.StringIO(self.records.read_text(encoding="utf-8-sig"), newline="")))
        self.header, self.rows = rows[0], [r for r in rows[1:] if r]


def csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


class RedcapHandler(BaseHTTPRequestHandler):
    """Answers content=metadata, event, formEventMapping, repeatingFormsEvents and record."""

    project: FakeProject

    def log_message(self, *args):  # keep the test output clean
        pass

    def send(self, status: int, body: bytes, kind: str = "text/csv") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status: int, message: str) -> None:
        self.send(status, json.dumps({"error": message}).encode(), "application/json")

    def drop(self, body: bytes) -> None:
        if self.project.drop_mode == "partial":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def do_POST(self):  # noqa: N802 (http.server's name)
        p = self.project
        form = parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode(), keep_blank_values=True)
        fields = dict(form)
        p.requests.append((fields.get("content"), [(k, v) for k, v in form if k != "token"]))
        if fields.get("token") != TOKEN:
            return self.error(403, NO_RIGHTS)
        if p.refuse_status:
            return self.error(p.refuse_status, NO_RIGHTS)
        content = fields.get("content")
        if content == "metadata":
            return self.send(200, p.metadata.read_bytes())
        if content in ("event", "formEventMapping"):
            path = p.events if content == "event" else p.mapping
            if p.events is None:
                return self.error(400, f"You cannot export {content} for classic projects")
            return self.send(200, path.read_bytes() if path else b"arm_num,unique_event_name,form\n")
        if content == "repeatingFormsEvents":
            return self.send(
                200, p.repeating.read_bytes() if p.repeating else b"event_name,form_name,custom_form_label\n"
            )
        if content != "record":
            return self.error(400, f'The value of the parameter "content" is not valid: {content}')
        if "fields[0]" in fields:  # the record-ID list
            keep = [0] + ([p.header.index("redcap_event_name")] if "redcap_event_name" in p.header else [])
            return self.send(200, csv_text([p.header[i] for i in keep], [[r[i] for i in keep] for r in p.rows]))
        p.batches += 1
        ids = [v for k, v in form if k.startswith("records[")]
        if p.lose_record_on_batch == p.batches:
            ids = ids[1:]
        body = csv_text(p.header, [r for r in p.rows if r[0] in set(ids)])
        if p.error_on_records:
            return self.send(200, json.dumps({"error": p.error_on_records}).encode(), "application/json")
        if p.drop_on_batch == p.batches:
            return self.drop(body)
        return self.send(200, body)


@pytest.fixture
def redcap():
    """Start a fake REDCap API for a project: ``url = redcap(FakeProject(...))``."""
    servers = []

    def start(project: FakeProject) -> str:
        handler = type("Handler", (RedcapHandler,), {"project": project})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/api/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    return TOKEN


def registry_project(**kw) -> FakeProject:
    return FakeProject(
        PROJECT / "dictionary.csv",
        EXPORT,
        events=PROJECT / "events.csv",
        mapping=PROJECT / "instrument_event_mapping.csv",
        repeating=PROJECT / "repeating_instruments.csv",
        **kw,
    )


def batches(db: Path) -> list[int]:
    if not db.exists():
        return []
    con = store.connect(db, read_only=True)
    try:
        return [r["batch_id"] for r in store.history(con)]
    finally:
        con.close()


def assert_same_batches(db: Path, old: int, new: int) -> None:
    con = store.connect(db, read_only=True)
    try:
        names = [
            [
                r[0]
                for r in con.execute(
                    "select table_name from duckdb_tables() where schema_name = $s order by 1", {"s": f"batch_{b}"}
                ).fetchall()
            ]
            for b in (old, new)
        ]
        assert names[0] == names[1] and "_records" in names[0]
        for t in names[0]:
            a, b = f'batch_{old}."{t}"', f'batch_{new}."{t}"'
            for x, y in ((a, b), (b, a)):
                assert not con.execute(f"select * from {x} except all select * from {y}").fetchall(), t
            assert (
                con.execute(f"select count(*) from {a}").fetchone()
                == con.execute(f"select count(*) from {b}").fetchone()
            ), t
    finally:
        con.close()


def refuse(cli, *args) -> str:
    result = cli(*args)
    assert result.exit_code == 2, result.stdout
    assert TOKEN not in result.stdout + result.stderr
    assert result.stderr.startswith("error: ")
    return result.stderr


def test_a_pull_of_the_registry_project_is_one_batch_with_the_content_of_its_csv(cli, db, redcap, token):
    project = registry_project()
    url = redcap(project)
    result = cli("pull", "--url", url, "--db", db, "--batch-size", "25", "--timeout", "20")
    assert result.exit_code == 0, result.stderr
    assert f"pulled 120 records (2598 rows) from {url} in 5 batch(es)" in result.stdout
    assert "batch 1: 120 records, 2598 rows (registry project)" in result.stdout
    assert batches(db) == [1]
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    assert_same_batches(db, 1, 2)  # dates became study days, as in the CSV ingest
    records = [f for c, f in project.requests if c == "record" and not any(k == "fields[0]" for k, _ in f)]
    assert len(records) == 5
    for f in records:
        d = dict(f)
        assert (d["format"], d["type"], d["rawOrLabel"], d["exportDataAccessGroups"]) == ("csv", "flat", "raw", "true")
        assert 1 <= sum(k.startswith("records[") for k, _ in f) <= 25
    assert TOKEN not in result.stdout + result.stderr


def test_a_pull_of_the_redcapr_longitudinal_example_matches_its_csv_ingest(cli, db, redcap, token):
    url = redcap(FakeProject(LONG / "dictionary.csv", LONG / "data.csv", events=LONG / "event.csv"))
    result = cli("pull", "--url", url, "--db", db, "--batch-size", "2")
    assert result.exit_code == 0, result.stderr
    assert "(redcap-api project)" in result.stdout
    result = cli(
        "ingest", LONG / "data.csv", "--dictionary", LONG / "dictionary.csv", "--events", LONG / "event.csv", "--db", db
    )
    assert result.exit_code == 0, result.stderr
    assert_same_batches(db, 1, 2)


def test_a_classic_project_is_pulled_without_events(cli, db, redcap, token):
    folder = EXAMPLES / "REDCapR" / "repeating-instruments-sparse"
    url = redcap(FakeProject(folder / "dictionary.csv", folder / "data.csv"))
    result = cli("pull", "--url", url, "--db", db)
    assert result.exit_code == 0, result.stderr
    assert cli("ingest", folder / "data.csv", "--dictionary", folder / "dictionary.csv", "--db", db).exit_code == 0
    assert_same_batches(db, 1, 2)


def test_pulling_unchanged_data_again_changes_nothing(cli, db, redcap, token):
    url = redcap(registry_project())
    assert cli("pull", "--url", url, "--db", db).exit_code == 0
    again = cli("pull", "--url", url, "--db", db)
    assert again.exit_code == 0
    assert "already in the registry as batch 1: nothing changed" in again.stdout
    assert batches(db) == [1]


def test_a_403_with_redcaps_error_json_is_refused_with_its_message_and_nothing_is_ingested(cli, db, redcap, token):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    url = redcap(registry_project(refuse_status=403))
    msg = refuse(cli, "pull", "--url", url, "--db", db)
    assert msg.startswith(f"error: REDCap refused the data dictionary (metadata) export (HTTP 403): {NO_RIGHTS}")
    assert "API Export" in msg and "nothing was ingested" in msg
    assert batches(db) == [1]


def test_a_wrong_token_is_refused_without_showing_either_token(cli, db, redcap, monkeypatch):
    monkeypatch.setenv("SITE_TOKEN", "0" * 32)
    msg = refuse(cli, "pull", "--url", redcap(registry_project()), "--db", db, "--token-env", "SITE_TOKEN")
    assert "HTTP 403" in msg and "0" * 32 not in msg
    assert batches(db) == []


@pytest.mark.parametrize("mode", ["close", "partial"])
def test_a_connection_dropped_during_a_record_batch_ingests_nothing(cli, db, redcap, token, mode):
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    project = registry_project(drop_on_batch=3, drop_mode=mode)
    msg = refuse(cli, "pull", "--url", redcap(project), "--db", db, "--batch-size", "25", "--timeout", "10")
    assert msg.startswith(
        "error: the connection to REDCap was dropped during the record (batch 3 of 5, 25 records) export"
    )
    assert "nothing was ingested: the registry is unchanged" in msg
    assert batches(db) == [1]
    assert project.batches == 3  # it stopped at the dropped batch


def test_a_record_redcap_silently_lost_is_a_count_mismatch_and_nothing_is_ingested(cli, db, redcap, token):
    msg = refuse(
        cli, "pull", "--url", redcap(registry_project(lose_record_on_batch=2)), "--db", db, "--batch-size", "30"
    )
    assert msg.startswith(
        "error: record count mismatch: REDCap returned 29 of the 30 records asked for in batch 2 of 4 "
        "(missing: SIR-0031)"
    )
    assert "smaller --batch-size" in msg
    assert batches(db) == []


def test_an_error_json_answered_with_http_200_is_refused(cli, db, redcap, token):
    project = registry_project(error_on_records="The maximum execution time has been reached")
    msg = refuse(cli, "pull", "--url", redcap(project), "--db", db)
    assert "answered the record (batch 1 of 2, 100 records) export with an error: The maximum execution time" in msg
    assert batches(db) == []


def test_a_missing_token_variable_is_refused_naming_the_variable(cli, db, monkeypatch):
    monkeypatch.delenv("MY_REDCAP_TOKEN", raising=False)
    msg = refuse(cli, "pull", "--url", "https://redcap.example.edu/api/", "--db", db, "--token-env", "MY_REDCAP_TOKEN")
    assert msg.startswith("error: the environment variable MY_REDCAP_TOKEN holding the REDCap API token is not set")
    assert not db.exists()


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("http://redcap.example.edu/api/", "plain http, which would send the token unencrypted"),
        ("https://redcap.example.edu/api/?token=ABC", "carries a query, fragment or credentials"),
        ("ftp://redcap.example.edu/api/", "not an http(s) address"),
    ],
)
def test_urls_that_would_leak_the_token_are_refused_before_anything_is_sent(cli, db, token, url, expect):
    msg = refuse(cli, "pull", "--url", url, "--db", db)
    assert expect in msg and "ABC" not in msg
    assert not db.exists()


def test_an_unreachable_api_is_refused_clearly(cli, db, token):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    msg = refuse(cli, "pull", "--url", f"http://127.0.0.1:{port}/api/", "--db", db, "--timeout", "5")
    assert msg.startswith("error: cannot reach REDCap for the data dictionary (metadata) export")


def test_the_token_is_stored_nowhere_in_the_registry(cli, db, redcap, token):
    assert cli("pull", "--url", redcap(registry_project()), "--db", db).exit_code == 0
    for path in db.parent.glob(db.name + "*"):
        assert TOKEN.encode() not in path.read_bytes()
