"""A shrinking export: records of the current batch that a new export no longer holds.

REDCap's full export holds every record of the project, so a new monthly export that lacks
records the registry already has is usually a filtered report or the wrong project. The
ingest says how many are missing and names the first ten; it refuses when more than
:data:`MAX_MISSING_SHARE` of the current records are missing, unless the user says the
records were really deleted (``--allow-missing-records``).
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import store
from registry.errors import ExportError

MAX_MISSING_SHARE = 0.10
NAMED = 10


@dataclass
class MissingRecords:
    batch_id: int
    current_records: int
    missing: list[str]

    @property
    def share(self) -> float:
        return len(self.missing) / self.current_records if self.current_records else 0.0

    def describe(self) -> str:
        first = ", ".join(self.missing[:NAMED]) + (", …" if len(self.missing) > NAMED else "")
        return (f"{len(self.missing)} of the {self.current_records} records of batch {self.batch_id} "
                f"({100 * self.share:.0f}%) are not in this export: {first}")


def check_missing_records(con, source: str, field_names: set[str], allow: bool) -> MissingRecords | None:
    """Compare the export being ingested (table ``raw``) with the current batch; refuse a large loss.

    Only a batch of the same project counts: one whose dictionary shares at least half of the
    fields of ``field_names`` (the project being ingested; its dictionary may have grown).
    """
    row = con.execute("select batch_id from registry.batches where is_current").fetchone()
    if row is None:
        return None
    batch = store.get_batch(con, row[0])
    if not _same_project(con, batch.schema, field_names):
        return None
    missing = [r for (r,) in con.execute(store.read_sql("missing_records.sql"),
                                         {"current_records": f"{batch.schema}._records"}).fetchall()]
    if not missing:
        return None
    found = MissingRecords(batch.batch_id, batch.records, missing)
    if found.share > MAX_MISSING_SHARE and not allow:
        raise ExportError(
            f"{found.describe()}; a REDCap export of the whole project holds every record, so this looks like "
            "a filtered report or another project's export. Nothing was ingested.",
            where=source,
            fix="export all records of the project (not a report), or if those records were really deleted in "
                "REDCap, ingest again with --allow-missing-records",
        )
    return found


def _same_project(con, schema: str, field_names: set[str]) -> bool:
    current = {name for (name,) in con.execute(f'select field_name from "{schema}"._dictionary').fetchall()}
    return bool(field_names) and len(current & field_names) >= len(field_names) / 2
