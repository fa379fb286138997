"""Each included subject's totals by visit: the data of the report's trajectory figure.

Stored in ``results.json`` as ``trajectories``, column-wise (``record_id``, ``cohort``,
``scale``, ``visit``, ``day``, ``score``: one list each, one position per total) so the
report draws the figure from ``results.json`` alone and the file stays compact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["record_id", "cohort", "scale", "visit", "day", "score"]


def trajectory_data(pairs: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Each included subject's totals by visit (baseline and follow-ups, available ones only).

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``scale``, ``visit``, ``day`` (the visit's nominal day
        from the plan, else its position), ``score``.
    """
    import pandas as pd

    days = dict(plan.visit_days)
    visits = [plan.baseline_visit, *plan.followup_visits]
    nominal = {v: days.get(v, i) for i, v in enumerate(visits)}
    base = (
        pairs.dropna(subset=["baseline"])
        .drop_duplicates(["record_id", "scale"])
        .assign(visit=plan.baseline_visit, score=lambda d: d["baseline"])
    )
    follow = pairs.dropna(subset=["followup"]).assign(score=lambda d: d["followup"])
    cols = ["record_id", "cohort", "scale", "visit", "score"]
    out = pd.concat([base[cols], follow[cols]], ignore_index=True)
    out["day"] = out["visit"].map(nominal)
    out["_order"] = out["visit"].map({v: i for i, v in enumerate(visits)})
    out = out.sort_values(["scale", "cohort", "record_id", "_order"]).reset_index(drop=True)
    return out[COLUMNS]


def to_columns(data: pd.DataFrame) -> dict[str, list]:
    """``data`` column-wise, JSON-ready (the ``results.json`` form)."""
    return {
        "record_id": data["record_id"].astype(str).tolist(),
        "cohort": [int(c) for c in data["cohort"]],
        "scale": data["scale"].astype(str).tolist(),
        "visit": data["visit"].astype(str).tolist(),
        "day": [float(d) for d in data["day"]],
        "score": [float(s) for s in data["score"]],
    }
