"""``results.json``: the machine-readable contract of an analysis run.

Top-level keys: ``schema_version``, ``toolkit_version``, ``generated_at`` (UTC),
``exploratory``, ``override_gate`` (the written reason, or null), ``plan``
(``sha256``, ``locked``, ``locked_before_data``, ...), ``batch`` (``batch_id``,
``source_sha256``, ...), ``gate``, ``population`` (``flow``), ``paired``, ``rates``,
``mcnemar`` (paired rates at two visits), ``visit_windows`` (the plan's windows, and per
rate and McNemar row the subjects left out because a total was outside its window; paired
rows count them in ``n_out_of_window``), ``relapse`` (``population``:
``at_risk``, ``origin``, ``not_at_risk`` per cohort; ``subjects`` (at risk only, with
``onset_day``), ``km``, ``median_days``, ``median_ci`` (``low``, ``high`` per cohort),
``at_risk``, ``logrank``, ``cox`` (unadjusted), ``cox_adjusted`` (baseline total of the
relapse scale; null unless ``[cox] adjust_baseline``), ``ignored``: clinician relapses the rule
could not use), ``time_to_response`` and ``time_to_remission`` (the same keys from day 0, plus
``left_out`` per cohort and reason), ``mmrm`` (mixed model per
outcome, :mod:`registry.analysis.mmrm`), ``trajectories`` (quantile bands and means of the
totals by visit over every subject, and the totals of the subjects the figure draws:
:mod:`registry.analysis.trajectories`), ``exposure`` and ``disposition`` (rows,
docs/results.md) and ``methods``.
Cohorts are REDCap codes (int), visits unique event names, scales the plan's names; every
NaN or undefined number is ``null``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1

PAIRED_KEYS = [
    "cohort",
    "scale",
    "visit",
    "n",
    "n_population",
    "n_missing_baseline",
    "n_missing_followup",
    "n_missing_both",
    "n_out_of_window",
    "mean_baseline",
    "sd_baseline",
    "mean_followup",
    "sd_followup",
    "mean_change",
    "sd_change",
    "ci_low",
    "ci_high",
    "t",
    "df",
    "p_two_sided",
    "sided",
    "direction",
    "p_one_sided",
    "alpha",
    "p_adjusted",
    "cohens_dz",
    "hedges_gz",
    "n_for_power",
]
RATE_KEYS = ["cohort", "scale", "visit", "kind", "count", "n", "rate", "ci_low", "ci_high"]
MCNEMAR_KEYS = [
    "cohort",
    "scale",
    "kind",
    "visit_a",
    "visit_b",
    "n",
    "count_a",
    "count_b",
    "rate_a",
    "rate_b",
    "b",
    "c",
    "statistic",
    "p",
    "p_exact",
]
SUBJECT_KEYS = ["record_id", "cohort", "days", "event", "criterion", "onset_day"]
KM_KEYS = ["cohort", "day", "at_risk", "events", "survival", "ci_low", "ci_high"]
INT_KEYS = {
    "cohort",
    "n",
    "n_population",
    "n_missing_baseline",
    "n_missing_followup",
    "n_missing_both",
    "n_out_of_window",
    "df",
    "count",
    "count_a",
    "count_b",
    "b",
    "c",
    "at_risk",
    "events",
    "n_for_power",
    "batch_id",
    "records",
    "subjects",
    "onset_day",
}


class JsonReady(list):
    """A list whose items are already JSON-ready (from :func:`records`): :func:`to_json_value`
    returns it as it is instead of walking its values again."""


def to_json_value(value: Any, key: str = "") -> Any:
    """A JSON-ready value: numpy scalars to Python, NaN/NA/inf to None, whole ints as int."""
    kind = type(value)  # the plain types first: results.json has about a million values
    if value is None or kind is str or kind is bool or kind is int or kind is JsonReady:
        return value
    if kind is float:
        if not math.isfinite(value):
            return None
        return int(value) if key in INT_KEYS and value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): to_json_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v, key) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if key in INT_KEYS and value.is_integer() else value
    return value


def records(frame: pd.DataFrame, keys: list[str]) -> list[dict]:
    """Rows of ``frame`` as JSON-ready dicts with exactly ``keys``, in that order."""
    columns = [_json_column(frame[k], k) if k in frame else [None] * len(frame) for k in keys]
    return JsonReady(dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True))


def _json_column(series: pd.Series, key: str) -> list:
    """A column's values as :func:`to_json_value` gives them, a whole numpy column at a time
    (results.json has tens of thousands of subject rows)."""
    import numpy as np

    kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else "O"
    if kind in "iub":  # numpy ints and bools have no missing values: their Python values
        return series.tolist()
    if kind != "f":
        return [to_json_value(v, key) for v in series.tolist()]
    values = series.to_numpy(float)
    out = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)):
        out[i] = None
    if key in INT_KEYS:
        return [int(v) if v is not None and v.is_integer() else v for v in out]
    return out


def build_results(
    *,
    plan,
    lock,
    batch: dict,
    gate: dict,
    analysis,
    exploratory: bool,
    override_reason: str | None,
    generated_at: str,
    methods: list[str],
) -> dict:
    """Assemble the ``results.json`` dict from the parts of a run.

    Parameters
    ----------
    plan : AnalysisPlan
    lock : LockStatus
    batch, gate : dict
        From :mod:`registry.analysis.provenance`.
    analysis : Analysis
        The computed frames (:func:`registry.analysis.run.compute_analysis`).
    exploratory : bool
        The run was labelled exploratory (``--exploratory``).
    override_reason : str or None
        The written reason for overriding the gate.
    generated_at : str
        UTC time of the run.
    methods : list of str
        The methods paragraphs generated from the plan.
    """
    from registry import __version__
    from registry.analysis.trajectories import summarise_trajectories

    plan_status = (
        "locked before data"
        if lock.locked_before_data
        else "locked after data"
        if lock.locked
        else "changed since locked"
        if lock.changed
        else "not locked"
    )
    return to_json_value(
        {
            "schema_version": SCHEMA_VERSION,
            "toolkit_version": __version__,
            "generated_at": generated_at,
            "exploratory": bool(exploratory),
            "override_gate": override_reason,
            "plan": {
                "sha256": plan.sha256,
                "locked": lock.locked,
                "locked_before_data": lock.locked_before_data,
                "status": plan_status,
                "file": str(plan.path),
                "title": plan.title,
                "version": plan.version,
                "locked_sha256": lock.locked_sha256,
                "locked_at": lock.locked_at,
                "first_locked_at": lock.first_locked_at,
                "first_ingested_at": lock.first_ingested_at,
            },
            "batch": batch,
            "gate": {
                **gate,
                "overridden": bool(override_reason) and not gate["passed"],
                "override_reason": override_reason,
            },
            "population": {
                "name": plan.population_name,
                "cohorts": {str(code): label for code, label in plan.cohorts},
                "flow": analysis.flow.to_dict("records"),
            },
            "paired": records(analysis.paired, PAIRED_KEYS),
            "power_target": plan.power_target,
            "rates": records(analysis.rates, RATE_KEYS),
            "mcnemar": records(analysis.mcnemar, MCNEMAR_KEYS),
            "visit_windows": {
                "windows": {visit: {"first": lo, "last": hi} for visit, lo, hi in plan.visit_windows},
                "rates": records(analysis.rates, ["cohort", "scale", "visit", "kind", "n_out_of_window"]),
                "mcnemar": records(analysis.mcnemar, [*MCNEMAR_KEYS[:5], "n_out_of_window"]),
            },
            "relapse": {
                "population": analysis.relapse_population,
                "subjects": records(analysis.relapse, SUBJECT_KEYS),
                **analysis.relapse_summary,
                "ignored": analysis.ignored,
            },
            **{
                f"time_to_{kind}": {
                    **part,
                    "subjects": records(part["subjects"], ["record_id", "cohort", "days", "event", "onset_day"]),
                }
                for kind, part in analysis.time_to.items()
            },
            "mmrm": analysis.mmrm,
            "baseline_characteristics": analysis.baseline_characteristics,
            "adverse_events": analysis.adverse_events,
            "exposure": analysis.exposure,
            "disposition": analysis.disposition,
            "choice_labels": analysis.choice_labels,
            "trajectories": summarise_trajectories(analysis.pairs, plan),
            "methods": methods,
        }
    )
