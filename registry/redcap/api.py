"""Fetch a REDCap project through its API: metadata and records, into files (no ingest here).

The token is read from an environment variable only (``$REDCAP_API_TOKEN`` unless told
otherwise). It is sent in the POST body and nowhere else: never on the command line, in a
URL, a log, a file, the registry or an error message. The steps:

1. export the data dictionary (``content=metadata``), events (``event``), the
   instrument-event mapping (``formEventMapping``) and the repeating instruments and events
   (``repeatingFormsEvents``); classic projects have no events or mapping;
2. export the record-ID field of every record, then the records in batches of record IDs
   (``records[0..]``, ``type=flat``, ``rawOrLabel=raw``, ``exportDataAccessGroups=true``);
3. check that every record asked for came back (REDCap can lose rows silently when a
   batch is too large for the server) and that every batch has the same columns;
4. write the pieces to a folder, for :func:`registry.pull.pull` to ingest.

Any HTTP error, REDCap error message (``{"error": "..."}``), dropped connection or missing
record stops the pull: nothing is ingested and the registry is unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from registry.errors import RegistryError

DEFAULT_TOKEN_ENV = "REDCAP_API_TOKEN"
DEFAULT_BATCH_SIZE = 100
TIMEOUT_SECONDS = 120.0
DEFAULT_MAX_BYTES = 2_000_000_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NOTHING = "nothing was ingested: the registry is unchanged"
RECORD_FIELDS = [
    ("content", "record"),
    ("format", "csv"),
    ("type", "flat"),
    ("rawOrLabel", "raw"),
    ("returnFormat", "json"),
]


class ApiError(RegistryError):
    """The REDCap API refused, failed or answered something unusable; nothing was ingested."""


def read_token(env_name: str = DEFAULT_TOKEN_ENV) -> str:
    """The API token from the environment variable ``env_name``.

    Raises
    ------
    ApiError
        The variable is not set or empty (the message names the variable, never a value).
    """
    token = os.environ.get(env_name, "").strip()
    if not token:
        raise ApiError(
            f"the environment variable {env_name} holding the REDCap API token is not set",
            where=f"${env_name}",
            fix=f"set it in the shell that runs the command (e.g. read -rs {env_name}; export {env_name}), "
            "or name another variable with --token-env; never pass the token itself",
        )
    return token


def check_url(url: str) -> str:
    """The URL as shown in messages (scheme, host, path); refuse URLs that would leak the token.

    Raises
    ------
    ApiError
        Not http(s), carries a query or credentials, or plain http to a non-loopback host.

    >>> check_url("https://redcap.example.edu/api/")
    'https://redcap.example.edu/api/'
    """
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ApiError(
            "the API URL is not an http(s) address",
            where="--url",
            fix="pass the project's API address, e.g. --url https://redcap.example.edu/api/",
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ApiError(
            "the API URL carries a query, fragment or credentials",
            where=f"--url {shown}",
            fix="pass only the API address; the token is read from the environment (--token-env)",
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ApiError(
            "the API URL uses plain http, which would send the token unencrypted",
            where=f"--url {shown}",
            fix="use the https:// address of the REDCap API",
        )
    return shown


class RedcapClient:
    """POSTs to one REDCap API URL with the token; every failure becomes an :class:`ApiError`."""

    def __init__(self, url: str, token: str, timeout: float = TIMEOUT_SECONDS, max_bytes: int = DEFAULT_MAX_BYTES):
        self.shown = check_url(url)
        self.url = url
        self._token = token
        self.timeout = timeout
        self.max_bytes = max_bytes

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[token]")

    def error(self, what: str, fix: str) -> ApiError:
        """An :class:`ApiError` at this URL whose fix ends with "nothing was ingested"."""
        return ApiError(self._scrub(what), where=self.shown, fix=f"{fix}; {NOTHING}")

    def post(self, what: str, fields: list[tuple[str, str]], *, optional: str | None = None) -> str | None:
        """POST ``fields`` (plus the token) and return the body as text.

        ``optional``: a word that, in a REDCap error message of an HTTP 400 answer, means the
        project simply has none of this (e.g. "classic" for events); then None is returned.
        """
        with tempfile.TemporaryFile() as fh:
            if not self.post_to(what, fields, fh, optional=optional):
                return None
            fh.seek(0)
            return self._text(what, fh.read())

    def post_to(self, what: str, fields: list[tuple[str, str]], dest, *, optional: str | None = None) -> bool:
        """POST and stream the answer into the binary file ``dest``; False for an ``optional`` absence.

        The whole request must end within ``timeout`` seconds and the answer stay within
        ``max_bytes``; a redirect is refused (the token is never sent anywhere else).
        """
        import http.client
        import urllib.parse

        from registry.redcap.http_post import TransportError, post

        body = urllib.parse.urlencode([("token", self._token), *fields]).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/csv, application/json"}
        try:
            status = post(self.url, body, headers, dest, timeout=self.timeout, max_bytes=self.max_bytes)
        except TransportError as exc:
            raise self._limit_error(what, exc) from None
        except (http.client.HTTPException, OSError) as exc:  # reset, cut short, TLS
            raise self.error(
                f"the connection to REDCap was dropped during the {what} export ({type(exc).__name__})",
                "try again later, or with a smaller --batch-size",
            ) from None
        if status >= 400 or _starts_with_brace(dest):
            dest.seek(0)
            message = self._error_message(dest.read(65536))
            if optional and optional in message.lower() and status in (200, 400):
                return False
            if status >= 400:
                raise self.error(f"REDCap refused the {what} export (HTTP {status}): {message}", _http_fix(status))
            raise self.error(f"REDCap answered the {what} export with an error: {message}",
                             "check the token's rights (API export) and the project")
        return True

    def _limit_error(self, what: str, exc) -> ApiError:
        if exc.kind == "unreachable":
            return self.error(f"cannot reach REDCap for the {what} export: {self._scrub(exc.location or '')}",
                              "check the URL and the network, then try again")
        if exc.kind == "deadline":
            return self.error(f"REDCap did not answer the {what} export within --timeout {self.timeout:g} s",
                              "pull again with a larger --timeout or a smaller --batch-size")
        if exc.kind == "too_large":
            return self.error(f"REDCap's answer to the {what} export is larger than --max-bytes {self.max_bytes}",
                              "pull again with a smaller --batch-size, or a larger --max-bytes")
        return self.error(
            f"REDCap answered the {what} export with a redirect to {self._scrub(exc.location or '')}; "
            "redirects are not followed, so the token is never sent to another address",
            "if that is the project's API address, pass it with --url")

    def _text(self, what: str, data: bytes) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise self.error(
                f"REDCap's answer to the {what} export is not UTF-8 text",
                "check that the URL is the REDCap API (…/api/)",
            ) from None

    def _error_message(self, data: bytes) -> str:
        text = data.decode("utf-8", "replace").strip()
        try:
            obj = json.loads(text)
            if isinstance(obj, dict) and "error" in obj:
                text = str(obj["error"])
        except json.JSONDecodeError:
            pass
        return self._scrub(" ".join(text.split())[:300]) or "(no message)"


def _starts_with_brace(fh) -> bool:
    """The answer is JSON (REDCap's error object), not CSV."""
    fh.seek(0)
    return fh.read(4096).lstrip().startswith(b"{")


def _http_fix(code: int) -> str:
    if code in (401, 403):
        return "check that the token in the environment variable belongs to this project and has the 'API Export' right"
    if code == 404:
        return "check the API URL (it usually ends in /api/)"
    if code >= 500:
        return "REDCap failed on the server; try again later or with a smaller --batch-size"
    return "check the URL and the project"


def _csv_rows(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


@dataclass
class Metadata:
    """The project's metadata files written to a folder (None where the project has none)."""

    dictionary: Path
    events: Path | None
    mapping: Path | None
    repeating: Path | None
    record_id_field: str


def fetch_metadata(client: RedcapClient, folder: Path) -> Metadata:
    """Export dictionary, events, mapping and repeating setup as CSV files in ``folder``."""
    base = [("format", "csv"), ("returnFormat", "json")]
    dictionary = client.post("data dictionary (metadata)", [("content", "metadata"), *base])
    rows = _csv_rows(dictionary)
    if len(rows) < 2:
        raise client.error("REDCap returned an empty data dictionary", "check that the token belongs to the project")
    paths = {"dictionary": folder / "dictionary.csv"}
    paths["dictionary"].write_text(dictionary, encoding="utf-8")
    for key, content, what, optional in (
        ("events", "event", "events", "classic"),
        ("mapping", "formEventMapping", "instrument-event mapping", "classic"),
        ("repeating", "repeatingFormsEvents", "repeating instruments and events", "repeat"),
    ):
        text = client.post(what, [("content", content), *base], optional=optional)
        if text is None or len(_csv_rows(text)) < 2:  # classic project, or none defined
            paths[key] = None
            continue
        paths[key] = folder / f"{key}.csv"
        paths[key].write_text(text, encoding="utf-8")
    return Metadata(paths["dictionary"], paths["events"], paths["mapping"], paths["repeating"], rows[1][0])


def fetch_record_ids(client: RedcapClient, record_id_field: str) -> list[str]:
    """Every record ID of the project, in REDCap's order."""
    text = client.post("record-ID", [*RECORD_FIELDS, ("fields[0]", record_id_field)])
    rows = _csv_rows(text)
    if not rows or rows[0][0].lstrip("\ufeff") != record_id_field:
        raise client.error(
            f"REDCap's record-ID export does not start with the record-ID field '{record_id_field}'",
            "check the project's first field",
        )
    return list(dict.fromkeys(r[0] for r in rows[1:] if r and r[0] != ""))


def fetch_records(client: RedcapClient, ids: list[str], batch_size: int, out: Path) -> int:
    """Export the records in batches of ``batch_size`` IDs into one CSV; return its data rows.

    Raises
    ------
    ApiError
        A batch failed, changed columns, or lost or added records.
    """
    header: list[str] | None = None
    rows_written = 0
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, min(client.max_bytes, 2**31 - 1)))  # one big note is no reason to fail
    try:
        with out.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            for n, batch in enumerate(batches, start=1):
                header, got = _fetch_batch(client, batch, n, len(batches), header, writer)
                rows_written += got
    finally:
        csv.field_size_limit(limit)
    return rows_written


def _fetch_batch(client: RedcapClient, batch: list[str], n: int, of: int, header: list[str] | None,
                 writer) -> tuple[list[str] | None, int]:
    """One batch of records, streamed from a temporary file into ``writer``; (header, rows written)."""
    what = f"record (batch {n} of {of}, {len(batch)} records)"
    fields = [*RECORD_FIELDS, ("rawOrLabelHeaders", "raw"), ("exportDataAccessGroups", "true")]
    fields += [(f"records[{i}]", rid) for i, rid in enumerate(batch)]
    with tempfile.TemporaryFile() as raw:
        client.post_to(what, fields, raw)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = (r for r in csv.reader(text) if r)
        got: set[str] = set()
        written = 0
        try:
            first = next(rows, None)
            if header is None:
                header = first or []
                writer.writerow(header)
            elif first is not None and first != header:
                raise client.error(f"the columns of record batch {n} differ from batch 1",
                                   "the project was changed during the pull; run it again")
            for row in rows:
                got.add(row[0])
                writer.writerow(row)
                written += 1
        except UnicodeDecodeError:
            raise client.error(f"REDCap's answer to the {what} export is not UTF-8 text",
                               "check that the URL is the REDCap API (…/api/)") from None
        except csv.Error as exc:
            raise client.error(f"REDCap's answer to the {what} export is not valid CSV ({exc})",
                               "pull again; if it persists, with a smaller --batch-size") from None
    missing = [rid for rid in batch if rid not in got]
    extra = sorted(got - set(batch))
    if missing or extra:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise client.error(
            f"record count mismatch: REDCap returned {len(got & set(batch))} of the {len(batch)} records "
            f"asked for in batch {n} of {of}"
            + (f" (missing: {shown})" if missing else "")
            + (f" and {len(extra)} record(s) not asked for" if extra else ""),
            "REDCap can drop rows when a batch is too large for the server; pull again with a "
            "smaller --batch-size",
        )
    return header, written
