"""What is new since the previous report: the periodic report's first section.

``analyze`` on batch N compares with the last *analysed* batch before it (the latest row of
``registry.analysis_runs`` with a smaller batch id): records added and removed and values
changed (:func:`registry.diff.diff_batches`), data queries opened, resolved and confirmed,
and for each prespecified result its n and estimate then and now. Every run is recorded in
``registry.analysis_runs`` (with the records per cohort, for the accrual plot) once its
``results.json`` is written.

``results.json`` key ``since_previous``: ``{previous_batch, records_added, records_removed,
values_changed, queries_opened, queries_resolved, queries_confirmed}`` (counts) plus
``previous_run_at``, ``results`` (``[{result, label, n_previous, n, estimate_previous, estimate}]``)
and ``accrual`` (``[{batch_id, cohort, records}]``, every batch); null on the first report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from registry import store
from registry.analysis.plan import AnalysisPlan
from registry.sqltext import quote_ident


def compute_since_previous(db, batch_id: int, plan: AnalysisPlan, results: dict) -> dict | None:
    """The ``since_previous`` object for a run on ``batch_id`` whose ``results`` are built; None if first."""
    from registry.diff import diff_batches

    con = store.connect(db, read_only=True)
    try:
        previous = _previous_run(con, batch_id)
        if previous is None:
            return None
        accrual = read_accrual(con, plan)
        counts = diff_batches(con, previous["batch_id"], batch_id).counts()
        queries = _query_changes(con, previous, batch_id)
    finally:
        con.close()
    return {
        "previous_batch": previous["batch_id"],
        "previous_run_at": previous["run_at"],
        **counts,
        **queries,
        "results": compare_estimates(previous["estimates"], summarize_estimates(results, plan)),
        "accrual": accrual,
    }


def record_run(db, batch_id: int, out_dir: Path, results: dict, plan: AnalysisPlan) -> None:
    """Remember this run (what the next report compares with)."""
    cohorts = {str(row["cohort"]): row["records"] for row in results["population"]["flow"]}
    con = store.connect(db)
    try:
        con.execute(
            "insert into registry.analysis_runs values ($batch, $at, $out, $cohorts, $estimates)",
            {"batch": batch_id, "at": datetime.now(UTC).replace(tzinfo=None), "out": str(out_dir),
             "cohorts": json.dumps(cohorts), "estimates": json.dumps(summarize_estimates(results, plan))},
        )
    finally:
        con.close()


def summarize_estimates(results: dict, plan: AnalysisPlan) -> list[dict]:
    """``[{result, label, n, estimate}]``: each prespecified result (a stable id and its words), n and estimate."""
    def words(scale, visit, cohort) -> str:
        return f"{plan.outcome(scale).label}, {plan.visit_label(visit)}, {plan.cohort_label(cohort)}"

    out = []
    for r in results.get("paired") or []:
        out.append({"result": f"paired/{r['scale']}/{r['visit']}/{r['cohort']}",
                    "label": f"Mean change: {words(r['scale'], r['visit'], r['cohort'])}",
                    "n": r["n"], "estimate": r.get("mean_change")})
    for r in results.get("rates") or []:
        out.append({"result": f"rates/{r['kind']}/{r['scale']}/{r['visit']}/{r['cohort']}",
                    "label": f"{r['kind'].capitalize()} rate: {words(r['scale'], r['visit'], r['cohort'])}",
                    "n": r["n"], "estimate": r.get("rate")})
    for name in ("relapse", "time_to_response"):
        part = results.get(name) or {}
        subjects = part.get("subjects") or []
        for cohort, median in (part.get("median_days") or {}).items():
            n = sum(1 for s in subjects if str(s.get("cohort")) == str(cohort))
            out.append({"result": f"{name}/median/{cohort}",
                        "label": f"Median days, {name.replace('_', ' ')}: {plan.cohort_label(int(cohort))}",
                        "n": n, "estimate": median})
    for m in results.get("mmrm") or []:
        for d in m.get("differences") or []:
            out.append({"result": f"mmrm/{m['scale']}/{d['visit']}",
                        "label": f"MMRM difference: {plan.outcome(m['scale']).label}, {plan.visit_label(d['visit'])}",
                        "n": m.get("n_subjects"), "estimate": d.get("estimate")})
    return out


def compare_estimates(previous: list[dict], current: list[dict]) -> list[dict]:
    """One row per result in either run: n and estimate before and now (null where absent)."""
    before = {r["result"]: r for r in previous}
    now = {r["result"]: r for r in current}
    names = [r["result"] for r in current] + [r for r in before if r not in now]
    return [{"result": name, "label": (now.get(name) or before[name]).get("label", name),
             "n_previous": before.get(name, {}).get("n"), "n": now.get(name, {}).get("n"),
             "estimate_previous": before.get(name, {}).get("estimate"),
             "estimate": now.get(name, {}).get("estimate")} for name in names]


def read_accrual(con, plan: AnalysisPlan) -> list[dict]:
    """Records per cohort (the plan's cohort field; null: none recorded) in every batch."""
    form, field = plan.cohort.form, plan.cohort.field
    rows = []
    for (batch_id,) in con.execute("select batch_id from registry.batches order by batch_id").fetchall():
        schema = quote_ident(f"batch_{batch_id}")
        has_form = con.execute(
            "select count(*) from information_schema.columns where table_catalog = current_database() "
            "and table_schema = $s and table_name = $t and column_name = $c",
            {"s": f"batch_{batch_id}", "t": form, "c": field},
        ).fetchone()[0]
        cohort = (f"(select record_id, max({quote_ident(field)}) as cohort from {schema}.{quote_ident(form)} "
                  "group by record_id)") if has_form else "(select null as record_id, null as cohort where false)"
        for code, n in con.execute(
            f"select c.cohort, count(*) from {schema}._records as r left join {cohort} as c using (record_id) "
            "group by all order by 1 nulls last"
        ).fetchall():
            rows.append({"batch_id": batch_id, "cohort": code, "records": n})
    return rows


def _previous_run(con, batch_id: int) -> dict | None:
    if not con.execute("select count(*) from information_schema.tables where table_schema = 'registry' "
                       "and table_name = 'analysis_runs' and table_catalog = current_database()").fetchone()[0]:
        return None
    row = con.execute(
        "select batch_id, cast(run_at as varchar), estimates from registry.analysis_runs where batch_id < $b "
        "order by batch_id desc, run_at desc limit 1", {"b": batch_id},
    ).fetchone()
    if row is None:
        return None
    return {"batch_id": row[0], "run_at": row[1], "estimates": json.loads(row[2] or "[]")}


def _query_changes(con, previous: dict, batch_id: int) -> dict:
    """Queries found now and not then (opened), then and not now (resolved), confirmed since."""
    opened, resolved = con.execute(
        "with now as (select distinct query_id from registry.findings where batch_id = $now), "
        "then_ as (select distinct query_id from registry.findings where batch_id = $then) "
        "select (select count(*) from (select * from now except select * from then_)), "
        "(select count(*) from (select * from then_ except select * from now))",
        {"now": batch_id, "then": previous["batch_id"]},
    ).fetchone()
    confirmed = con.execute(
        "select count(distinct query_id) from registry.query_responses "
        "where response = 'confirmed' and answered_at > cast($at as timestamp)", {"at": previous["run_at"]},
    ).fetchone()[0]
    return {"queries_opened": opened, "queries_resolved": resolved, "queries_confirmed": confirmed}
