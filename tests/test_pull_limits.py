"""`registry pull` limits, against the loopback fake REDCap of test_api_pull: --timeout is the
whole request's deadline (a server sending a byte at a time cannot hold it), --max-bytes caps an
answer (streamed to disk), and a redirect is refused with its URL named, the token never re-sent."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_api_pull import TOKEN, RedcapHandler, batches, redcap, refuse, registry_project, token  # noqa: F401

from registry.redcap import api


class Trickle(RedcapHandler):
    """Answers the record export one byte every 0.2 s."""

    def send(self, status: int, body: bytes, kind: str = "text/csv") -> None:
        if b"redcap_event_name" not in body[:2000] or b"SIR-0001" not in body:
            return super().send(status, body, kind)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            time.sleep(0.2)


class Redirect(RedcapHandler):
    """Redirects every request to ``target``."""

    target = ""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(307)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Recorder(BaseHTTPRequestHandler):
    """The other host: records whatever reaches it."""

    seen: list = []

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.seen.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST  # noqa: N815


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the client hanging up on purpose is no news
        pass


def serve(handler) -> tuple[ThreadingHTTPServer, str]:
    server = QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api/"


@pytest.fixture
def servers():
    started = []

    def start(handler):
        server, url = serve(handler)
        started.append(server)
        return url

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def test_timeout_is_the_whole_requests_deadline_not_each_read(cli, db, servers, token):  # noqa: F811
    url = servers(type("H", (Trickle,), {"project": registry_project()}))
    started = time.monotonic()
    message = refuse(cli, "pull", "--url", url, "--db", db, "--timeout", "2", "--batch-size", "200")
    assert time.monotonic() - started < 15
    assert "did not answer the record" in message and "within --timeout 2" in message
    assert batches(db) == []


def test_an_answer_larger_than_max_bytes_is_refused(cli, db, servers, token):  # noqa: F811
    url = servers(type("H", (RedcapHandler,), {"project": registry_project()}))
    message = refuse(cli, "pull", "--url", url, "--db", db, "--max-bytes", "20000", "--batch-size", "200")
    assert "larger than --max-bytes 20000" in message and "nothing was ingested" in message
    assert batches(db) == []


def test_a_redirect_to_another_host_is_refused_naming_the_url_and_the_token_is_not_resent(cli, db, servers,
                                                                                         token):  # noqa: F811
    Recorder.seen = []
    other = servers(Recorder).replace("127.0.0.1", "localhost") + "steal"
    url = servers(type("H", (Redirect,), {"project": registry_project(), "target": other}))
    message = refuse(cli, "pull", "--url", url, "--db", db)
    assert "redirect" in message and other in message
    assert Recorder.seen == []
    assert batches(db) == []


def test_records_are_streamed_to_disk_in_batches_and_the_pull_still_works(cli, db, redcap, token):  # noqa: F811
    url = redcap(registry_project())
    result = cli("pull", "--url", url, "--db", db, "--max-bytes", "2000000", "--batch-size", "40")
    assert result.exit_code == 0, result.stderr
    assert batches(db) == [1]
    assert api.DEFAULT_MAX_BYTES == 2_000_000_000
