"""The gate: every suite in ``checks/`` run on the current batch, findings tracked and stored.

:func:`run_gate` loads and checks the suites, compiles every expectation to SQL
(:mod:`registry.checks.compile`) and runs them in one insert: one scan per table for all of
its row-level and z-score expectations (each row's list of failed checks, unnested beside
the flagged cells), and a query each for uniqueness and the suites' own SQL. One statement
keeps one finding per record, event, instance, field and rule and marks each ``new`` or
``open`` against the previous validated batch (those ``resolved`` since are listed);
findings and the run are stored in ``registry.findings`` / ``registry.validation_runs`` in
one transaction. The batch passes when no ``error`` finding remains. The run itself keeps
only counts in Python: the findings are read from the connection when a report needs them."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from pathlib import Path

import duckdb

from registry import resources, sqltext
from registry.checks.compile import Z_TYPE, compile_check, fused_table_sql, row_predicate, z_score_parts
from registry.checks.findings_context import KEY_COLUMNS, add_context, read_labels, shown_field
from registry.checks.query_text import Labels
from registry.checks.suites import Suite, check_complete, check_fresh, load_suites
from registry.errors import ChecksError
from registry.sqltext import insert_rows, quote_ident

read_sql = sqltext.reader("registry.checks")

FINDING_KEYS = ("record_id", "event", "instance", "field", "rule", "severity", "status", "query_id", "site",
                "value", "query")
#: Gate runs in this process: the findings a GateResult reads are those of its own run.
_RUNS = itertools.count(1)
_ORDER = "case severity when 'error' then 0 else 1 end, record_id, event, instance, field, rule"


@dataclass
class GateResult:
    """What ``registry validate`` reports.

    ``findings`` (one dict per finding, :data:`FINDING_KEYS` and more, in report order) are
    read from the connection when first used, not by the run itself: read them before the
    connection closes or runs the gate again.
    """

    batch_id: int
    previous_batch_id: int | None
    passed: bool
    n_errors: int
    n_warnings: int
    n_findings: int
    resolved: list[dict]
    by_rule: list[dict]
    suites: int
    checks: int
    seconds: float
    timings: dict = field(default_factory=dict)
    _read_findings: Callable[[], list[dict]] | None = field(default=None, repr=False)

    @cached_property
    def findings(self) -> list[dict]:
        return self._read_findings() if self._read_findings else []

    def to_json(self) -> dict:
        """The ``registry validate --json`` object (the contract)."""
        return {
            "passed": self.passed,
            "findings": [{k: f[k] for k in FINDING_KEYS} for f in self.findings],
            "resolved": [{k: f[k] for k in FINDING_KEYS} for f in self.resolved],
        }


def run_gate(con, checks_dir: str | Path, *, store: bool = True, only=None, progress=None) -> GateResult:
    """Run every suite of ``checks_dir`` on the current batch of the registry ``con``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A read-write connection to the registry.
    checks_dir : path
        The directory of suites (``checks/``).
    store : bool
        Write findings and the run. With False, they are written and rolled back (timing).
    only : callable, optional
        ``only(check) -> bool`` keeps a subset of the checks (benchmarks, tests).
    progress : callable, optional
        ``progress(step: str)`` is called as each of 3 steps ends (a progress bar).

    Raises
    ------
    ChecksError
        A suite is malformed, stale, or names a table or column the batch does not have.
    """
    from registry import store as registry_store

    started = time.perf_counter()
    step = progress or (lambda _name: None)
    batch = registry_store.get_batch(con)
    suites = load_suites(checks_dir)
    check_fresh(suites, batch.dictionary_sha256, batch.batch_id)
    check_complete(suites, sorted(batch.instrument_rows), checks_dir)
    timings = {"load": time.perf_counter() - started}
    types = table_types(con, batch.schema)
    labels = read_labels(con, batch.schema)
    run = next(_RUNS)
    _prepare(con, batch.schema, types, suites, only, labels, run)
    timings["compile"] = time.perf_counter() - started - timings["load"]
    step("checks run")
    t0 = time.perf_counter()
    previous = _previous_batch(con, batch.batch_id)
    add_context(con, batch.schema, {f"{s.name}/{c.label}": c for s in suites for c in s.checks}, types,
                labels, previous)
    by_rule = _dicts(con, "select rule, severity, status, count(*) as n from __context "
                          "group by all order by all")
    # A finding a site confirmed (same value) is kept and listed, but blocks nothing.
    n_errors = sum(r["n"] for r in by_rule if r["severity"] == "error" and r["status"] != "confirmed")
    n_warnings = sum(r["n"] for r in by_rule if r["severity"] == "warning" and r["status"] != "confirmed")
    timings["findings"] = time.perf_counter() - t0
    step("findings")
    t0 = time.perf_counter()
    _store(con, batch.batch_id, n_errors == 0, n_errors, n_warnings, commit=store)
    timings["store"] = time.perf_counter() - t0
    step("stored")
    resolved = _dicts(con, read_sql("findings_resolved.sql"), {"previous": previous}) if previous else []
    return GateResult(
        batch_id=batch.batch_id, previous_batch_id=previous, passed=n_errors == 0, n_errors=n_errors,
        n_warnings=n_warnings, n_findings=sum(r["n"] for r in by_rule), resolved=resolved, by_rule=by_rule,
        suites=len(suites), checks=con.execute("select count(*) from __checks").fetchone()[0],
        seconds=time.perf_counter() - started, timings=timings,
        _read_findings=partial(_read_findings, con, run),
    )


def _read_findings(con, run: int) -> list[dict]:
    """The findings of gate run ``run`` on ``con``, in report order (errors first)."""
    try:
        current = con.execute("select run from __run").fetchone()[0]
    except duckdb.Error:
        current = None
    if current != run:
        raise RuntimeError("the findings of this gate run are gone: read them before the connection closes "
                           "or runs the gate again")
    return _dicts(con, f"select * from __result order by {_ORDER}")


def table_types(con, schema: str) -> dict[str, dict[str, str]]:
    """Column types of every table in a batch schema: table -> column -> DuckDB type."""
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = $schema "
        "order by table_name, ordinal_position", {"schema": schema},
    ).fetchall():
        out.setdefault(table, {})[column] = dtype
    return out


def _prepare(con, schema: str, types: dict[str, dict[str, str]], suites: list[Suite], only, labels: Labels,
             run: int) -> None:
    """Fill ``__checks`` (one row per expectation) and ``__hits`` (one row per offending row).

    A hit of a row-level or z-score check carries the flagged cell as text (``value``), read
    by the same scan; ``__checks.scanned`` says so, ``shown`` whether that field's values may
    be printed. Other hits get their values looked up later (:mod:`findings_context`).
    """
    checks, blame, branches, type_hits = [], [], [], []
    fused: dict[str, tuple[list, list, dict]] = {}  # table -> (row-level checks, z-score checks, cells)
    for suite in suites:
        columns = types.get(suite.table)
        if columns is None:
            raise ChecksError(f"the suite checks table '{suite.table}', which batch {schema} does not have",
                              where=str(suite.path), fix=f"tables of the batch: {', '.join(sorted(types))}")
        table = f"{quote_ident(schema)}.{quote_ident(suite.table)}"
        for i, check in enumerate(suite.checks, start=1):
            if only is not None and not only(check):
                continue
            where = f"{suite.path}, expectation {i} ({check.label})"
            missing = sorted(check.columns() - set(columns))
            if missing:
                raise ChecksError(
                    f"the expectation names {', '.join(missing)}, not a column of {suite.table}", where=where,
                    fix="fix the suite, or if the dictionary changed: "
                        "registry checks build --dictionary DICTIONARY --out checks/",
                )
            idx = len(checks)
            row = row_predicate(check, columns.get(check.kwargs.get("column"), ""))
            fusable = row is not None or check.type == Z_TYPE
            scanned = fusable and check.field in columns and check.field not in KEY_COLUMNS
            checks.append([idx, f"{suite.name}/{check.label}", check.rule, check.severity, check.field, scanned,
                           scanned and shown_field(check.field, labels)])
            compiled = compile_check(check, table)
            if compiled is None:
                if not _type_ok(columns[check.kwargs["column"]], check.kwargs["type_list"]):
                    type_hits.append((None, None, None, check.field, idx, None))
                continue
            if check.type == "unexpected_rows_expectation":
                _check_query(con, compiled.sql, compiled.params, where)
            blame.append((f"select *, {idx} as check_idx from ({compiled.sql})", compiled.params, where))
            if fusable:
                rows, z_scores, cells = fused.setdefault(table, ([], [], {}))
                if row is not None:
                    rows.append((idx, *row))
                else:
                    z_scores.append((idx, *z_score_parts(check, idx)))
                if scanned:
                    cells[idx] = f"cast(t.{quote_ident(check.field)} as varchar)"
            else:  # uniqueness (a join on its own) and the suites' own SQL: a query each
                branches.append((f"select *, {idx} as check_idx, null as value from ({compiled.sql})",
                                 compiled.params))
    for table, (rows, z_scores, cells) in fused.items():
        one = fused_table_sql(table, rows, z_scores, cells)
        branches.append(
            (
                "select h.record_id, h.redcap_event_name, h.redcap_repeat_instance, c.field, h.check_idx, h.value "
                f"from ({one.sql}) as h join __checks as c using (check_idx)",
                one.params,
            )
        )
    # rank: the check a finding keeps when several flag it (errors first, then by name)
    order = sorted(range(len(checks)), key=lambda i: (checks[i][3] != "error", checks[i][1]))
    for rank, i in enumerate(order):
        checks[i].append(rank)
    _run_script(con, "gate_tables.sql", {"run": run})
    insert_rows(con, "__checks", [tuple(c) for c in checks])
    if branches:  # one insert: a scan per table for its row-level checks, a query per other check
        try:
            con.execute("insert into __hits " + "\nunion all\n".join(b[0] for b in branches),
                        [p for b in branches for p in b[1]])
        except duckdb.Error:
            _blame(con, blame)
            raise
    insert_rows(con, "__hits", type_hits)


def _blame(con, branches: list[tuple[str, list, str]]) -> None:
    """Find the expectation whose SQL fails on this batch, and name it."""
    for sql, params, where in branches:
        try:
            con.execute(f"select count(*) from ({sql})", params).fetchone()
        except duckdb.Error as exc:
            raise ChecksError(f"the expectation does not run on this batch: {str(exc).splitlines()[0]}",
                              where=where, fix="fix the expectation's values or column types") from None


def _type_ok(actual: str, type_list: list[str]) -> bool:
    return actual.upper() in {str(t).upper() for t in type_list}


def _check_query(con, sql: str, params: list, where: str) -> None:
    """Bind (not run) a suite's SQL, so a bad query is reported with its file."""
    try:
        cols = con.execute(f"describe {sql}", params).fetchall()
    except duckdb.Error as exc:  # binder, parser or catalog error in the suite's SQL
        first = str(exc).splitlines()[0]
        raise ChecksError(f"the expectation's SQL does not run on this batch: {first}", where=where,
                          fix="fix the query (it must return record_id, redcap_event_name, "
                              "redcap_repeat_instance and field)") from None
    if len(cols) != 4:
        raise ChecksError("the expectation's SQL must return 4 columns", where=where,
                          fix="return record_id, redcap_event_name, redcap_repeat_instance and field")


def _previous_batch(con, batch_id: int) -> int | None:
    return con.execute(
        "select max(batch_id) from registry.validation_runs where batch_id < $b", {"b": batch_id}
    ).fetchone()[0]


def _store(con, batch_id: int, passed: bool, n_errors: int, n_warnings: int, commit: bool) -> None:
    params = {"batch_id": batch_id, "run_at": datetime.now(UTC).replace(tzinfo=None),
              "passed": passed, "n_errors": n_errors, "n_warnings": n_warnings}
    con.execute("begin transaction")
    try:
        _run_script(con, "findings_store.sql", params)
        con.execute("commit" if commit else "rollback")
    except BaseException:
        from registry import store

        store.rollback(con)
        raise


def _run_script(con, name: str, params: dict) -> None:
    """Each statement of the SQL file ``name``, with the parameters it names."""
    text = "\n".join(line for line in read_sql(name).splitlines() if not line.startswith("--"))
    for statement in (s.strip() for s in text.split(";")):
        if statement:
            used = set(re.findall(r"\$(\w+)", statement))
            con.execute(statement, {k: v for k, v in params.items() if k in used})


def _dicts(con, sql: str, params: dict | None = None) -> list[dict]:
    cur = con.execute(sql, params or {})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def collect_hits(con) -> dict[tuple[str, str], set[tuple]]:
    """After a run: (suite name, check label) -> the offending (record, event, instance) rows.

    A table-level failure (a column type) is the row ``(None, None, None)``.
    """
    out: dict[tuple[str, str], set[tuple]] = {}
    for expectation, hit, record, event, instance in con.execute(
        "select c.expectation, h.check_idx, h.record_id, h.event, h.instance from __checks as c "
        "left join __hits as h using (check_idx)"
    ).fetchall():
        rows = out.setdefault(tuple(expectation.split("/", 1)), set())
        if hit is not None:
            rows.add((record, event, instance))
    return out


def default_checks_dir() -> Path:
    """``./checks`` when it exists, else the suites the package ships."""
    here = Path("checks")
    return here if here.is_dir() else resources.default_checks_dir()
