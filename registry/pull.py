"""``registry pull``: export a project through the REDCap API and ingest it as one batch.

:mod:`registry.redcap.api` fetches (metadata, record IDs, records, into a temporary folder);
here the project is built from the fetched metadata and the records file is ingested.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from registry.ingest import ingest
from registry.redcap.api import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_BYTES,
    DEFAULT_TOKEN_ENV,
    TIMEOUT_SECONDS,
    ApiError,
    Metadata,
    RedcapClient,
    fetch_metadata,
    fetch_record_ids,
    fetch_records,
    read_token,
)


def build_project(meta: Metadata, study_day_anchor: str | None = None):
    """The project from the exported metadata.

    When the dictionary has the fields of the registry's own project (names, forms, types,
    validations), the registry project's settings apply as ``registry ingest`` applies them:
    the study-day anchor, PHI refusal, missing-data codes, instrument labels and DAGs.
    """
    from registry.redcap.project import load_default_project, load_project

    project = load_project(
        meta.dictionary,
        events=meta.events,
        mapping=meta.mapping,
        repeating=meta.repeating,
        study_day_anchor=study_day_anchor,
    )
    own = load_default_project()

    def shape(p):
        return [(f.name, f.form, f.field_type, f.validation) for f in p.dictionary.fields]

    if shape(project) == shape(own):
        project.name, project.phi_action, project.missing_codes = own.name, own.phi_action, own.missing_codes
        project.instrument_labels, project.dags, project.arms = own.instrument_labels, own.dags, own.arms
        if study_day_anchor is None:
            project.study_day_anchor = own.study_day_anchor
    else:
        project.name = "redcap-api"
    return project


@dataclass
class PullResult:
    """What a pull fetched and what the ingest made of it."""

    url: str
    records: int
    rows: int
    batches: int
    project: str
    ingest: object  # registry.ingest.IngestResult


def pull(
    url: str,
    db: str | Path | None = None,
    *,
    token_env: str = DEFAULT_TOKEN_ENV,
    batch_size: int = DEFAULT_BATCH_SIZE,
    study_day_anchor: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    wait: float = 30.0,
    ignore_misplaced: bool = False,
    progress=None,
) -> PullResult:
    """Export a project through the REDCap API and ingest it into ``db`` as one batch.

    Parameters
    ----------
    url : str
        The REDCap API URL (https, or http on loopback only).
    db : path, optional
        The registry (default ``$REGISTRY_DB``, else ``./registry.duckdb``).
    token_env : str
        Name of the environment variable holding the token.
    batch_size : int
        Records per record-export request.
    study_day_anchor : str, optional
        Date field that is day 0 (the registry project's own anchor is used when the
        dictionary is the registry's).
    timeout, wait : float
        Seconds each API request may take in all (connect, send, every read), and seconds to wait
        for another process using the registry.
    ignore_misplaced : bool
        Values on rows where their form cannot be are kept in ``_misplaced_values`` and left out of
        the form tables, instead of refusing the pull (as ``registry ingest --ignore-misplaced``).
    max_bytes : int
        The largest answer accepted (each is streamed to a temporary file, never held whole).
    progress : callable, optional
        Called with a step name as each step ends.

    Raises
    ------
    ApiError
        The API refused or failed, or records went missing; nothing was ingested.
    RegistryError
        The ingest refused the data (as ``registry ingest`` would).
    """
    step = progress or (lambda _name: None)
    if batch_size < 1:
        raise ApiError("--batch-size must be at least 1", where="--batch-size", fix="pass e.g. --batch-size 100")
    if max_bytes < 1 or timeout <= 0:
        raise ApiError("--max-bytes and --timeout must be positive", where="--max-bytes / --timeout",
                       fix="pass e.g. --timeout 120 --max-bytes 2000000000")
    client = RedcapClient(url, read_token(token_env), timeout, max_bytes)
    host = urlsplit(url).hostname or "redcap"
    with tempfile.TemporaryDirectory(prefix="registry-pull-") as tmp:
        folder = Path(tmp)
        meta = fetch_metadata(client, folder)
        step("metadata")
        project = build_project(meta, study_day_anchor)
        ids = fetch_record_ids(client, project.dictionary.record_id_field)
        if not ids:
            raise client.error("the project has no records", "enter or import records in REDCap first")
        step("record ids")
        records = folder / f"redcap_api_{''.join(c if c.isalnum() else '_' for c in host)}.csv"
        rows = fetch_records(client, ids, batch_size, records)
        step("records")
        result = ingest(records, project, db, wait=wait, ignore_misplaced=ignore_misplaced, progress=step)
    return PullResult(client.shown, len(ids), rows, -(-len(ids) // batch_size), project.name, result)
