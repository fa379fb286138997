"""The same suites run by Great Expectations itself, on pandas frames of the batch's tables.

This is the straightforward path (stack notes §3): pull each table into pandas, register the
suite, run a ``ValidationDefinition`` with ``COMPLETE`` results and the key columns as
``unexpected_index_column_names``. The gate does not use it: it is the reference that
``tests/test_gate_equivalence.py`` compares the SQL compilation with, and the baseline of
``bench/bench_gate.py``. ``unexpected_rows_expectation`` has no pandas implementation in GX,
so those expectations are left out here (:func:`gx_runs_it`).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

from registry.checks.suites import Check, Suite
from registry.errors import ChecksError

KEYS = ["record_id", "redcap_event_name", "redcap_repeat_instance"]
Row = tuple[str | None, str | None, int | None]


@dataclass
class GxRun:
    """Per expectation (suite name, check label): success and the offending key rows."""

    results: dict[tuple[str, str], tuple[bool, set[Row]]] = field(default_factory=dict)
    load_seconds: float = 0.0
    validate_seconds: float = 0.0
    expectations: int = 0


def gx_runs_it(check: Check) -> bool:
    """Whether GX can run the expectation on pandas."""
    return check.type != "unexpected_rows_expectation"


def quiet_gx():
    """Import Great Expectations without its sre DeprecationWarning; an ephemeral context, no bars."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="module 'sre_", category=DeprecationWarning)
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def run_gx_pandas(con, suites: list[Suite], schema: str, only=None) -> GxRun:
    """Run every GX-capable expectation of ``suites`` on pandas frames of ``schema``'s tables."""
    gx, context = quiet_gx()
    source = context.data_sources.add_pandas("registry")
    run = GxRun()
    for n, suite in enumerate(suites):
        wanted = [(c, e) for c, e in zip(suite.checks, suite.to_gx_json()["expectations"], strict=True)
                  if gx_runs_it(c) and (only is None or only(c))]
        if not wanted:
            continue
        start = time.perf_counter()
        frame = con.execute(f'select * from "{schema}"."{suite.table}"').df()
        run.load_seconds += time.perf_counter() - start
        start = time.perf_counter()
        gx_suite = context.suites.add_or_update(gx.ExpectationSuite(
            name=f"{suite.name}#{n}", expectations=[e for _, e in wanted], meta=suite.meta))
        batch = source.add_dataframe_asset(f"{suite.table}#{n}").add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}#{n}", data=batch, suite=gx_suite))
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": KEYS},
        )
        run.validate_seconds += time.perf_counter() - start
        for r in result.results:
            label = r.expectation_config.meta["check"]
            _raise_on_exception(r, suite, label)
            rows = {_key(d) for d in (r.result or {}).get("unexpected_index_list") or []}
            run.results[(suite.name, label)] = (bool(r.success), rows)
            run.expectations += 1
    return run


def _raise_on_exception(result, suite: Suite, label: str) -> None:
    info = result.exception_info or {}
    shapes = [info] if "raised_exception" in info else list(info.values())
    for shape in shapes:
        if isinstance(shape, dict) and shape.get("raised_exception"):
            message = shape.get("exception_message")
            raise ChecksError(f"Great Expectations could not run the expectation: {message}",
                              where=f"{suite.path} ({label})", fix="fix the expectation")


def _key(d: dict) -> Row:
    def clean(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in {"<NA>", "nan", "NaT"}:
            return None
        return v

    instance = clean(d.get("redcap_repeat_instance"))
    return (clean(d.get("record_id")), clean(d.get("redcap_event_name")),
            None if instance is None else int(instance))
