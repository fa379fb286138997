"""What changed between two batches: records added, records removed, values changed.

Records are compared by ID. For the records present in both batches, every instrument table
is unpivoted to (record, event, instance, field, value as text) and the two are compared
cell by cell; the values of an added or removed record are not counted as changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registry import store
from registry.sqltext import quote_ident

KEYS = "record_id, redcap_event_name, redcap_repeat_instance, redcap_data_access_group"


@dataclass
class BatchDiff:
    old_batch: int
    new_batch: int
    records_added: list[str] = field(default_factory=list)
    records_removed: list[str] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)

    def counts(self) -> dict:
        return {"records_added": len(self.records_added), "records_removed": len(self.records_removed),
                "values_changed": len(self.changes)}

    def to_dict(self) -> dict:
        return {
            "old_batch": self.old_batch, "new_batch": self.new_batch, "counts": self.counts(),
            "records_added": self.records_added, "records_removed": self.records_removed,
            "values_changed": self.changes,
        }


def _forms(con, schema: str) -> set[str]:
    return {
        name for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = $s and not starts_with(table_name, '_')",
            {"s": schema},
        ).fetchall()
    }


def _long_sql(schema: str, form: str) -> str:
    """The form's cells of the records in both batches, one row per (record, event, instance, field)."""
    table = f"{quote_ident(schema)}.{quote_ident(form)}"
    return (
        f"(unpivot (select record_id, redcap_event_name, redcap_repeat_instance, "
        f"columns(* exclude ({KEYS}))::varchar from {table} "
        "where record_id in (select record_id from __common_records)) "
        "on columns(* exclude (record_id, redcap_event_name, redcap_repeat_instance)) "
        "into name field value value)"
    )


def diff_batches(con, old: int | None = None, new: int | None = None) -> BatchDiff:
    """Compare batch ``old`` (default: the one before ``new``) with ``new`` (default: current)."""
    new_batch = store.get_batch(con, new)
    if old is None:
        row = con.execute("select max(batch_id) from registry.batches where batch_id < $id",
                          {"id": new_batch.batch_id}).fetchone()
        if row[0] is None:
            from registry.errors import RegistryStateError

            raise RegistryStateError(f"batch {new_batch.batch_id} is the first batch: nothing to compare with",
                                     fix="name two batches: registry diff A B (see registry history)")
        old = row[0]
    old_batch = store.get_batch(con, old)
    result = BatchDiff(old_batch.batch_id, new_batch.batch_id)
    rows = con.execute(
        store.read_sql("records_diff.sql"),
        {"old_table": f"{old_batch.schema}._records", "new_table": f"{new_batch.schema}._records"},
    ).fetchall()
    result.records_added = [r for r, change in rows if change == "added"]
    result.records_removed = [r for r, change in rows if change == "removed"]
    con.execute(
        "create or replace temp table __common_records as select record_id from query_table($old) "
        "intersect select record_id from query_table($new)",
        {"old": f"{old_batch.schema}._records", "new": f"{new_batch.schema}._records"},
    )
    old_forms, new_forms = _forms(con, old_batch.schema), _forms(con, new_batch.schema)
    empty = "(select null::varchar as record_id, null::varchar as redcap_event_name, " \
            "null::integer as redcap_repeat_instance, null::varchar as field, null::varchar as value where false)"
    for form in sorted(old_forms | new_forms):
        a = _long_sql(old_batch.schema, form) if form in old_forms else empty
        b = _long_sql(new_batch.schema, form) if form in new_forms else empty
        cur = con.execute(
            f"select $form as form, coalesce(a.record_id, b.record_id) as record_id, "
            "coalesce(a.redcap_event_name, b.redcap_event_name) as event, "
            "coalesce(a.redcap_repeat_instance, b.redcap_repeat_instance) as instance, "
            "coalesce(a.field, b.field) as field, a.value as old, b.value as new "
            f"from {a} a full join {b} b on a.record_id = b.record_id "
            "and a.redcap_event_name is not distinct from b.redcap_event_name "
            "and a.redcap_repeat_instance is not distinct from b.redcap_repeat_instance and a.field = b.field "
            "where a.value is distinct from b.value order by 2, 3, 4, 5",
            {"form": form},
        )
        names = [d[0] for d in cur.description]
        result.changes.extend(dict(zip(names, r, strict=True)) for r in cur.fetchall())
    return result
