"""Each included subject's totals by visit, summarised for the report's trajectory figure.

The figure draws, per cohort and outcome, bands of quantiles and the mean over every subject
and a thin line for at most ``[report] max_trajectories`` subjects per cohort (all of a
smaller cohort, else a seeded random sample). ``results.json``'s ``trajectories`` holds just
that, so its size and the figure's cost do not grow with the registry (issue 13):

- ``record_id``, ``cohort``, ``scale``, ``visit``, ``day``, ``score``: the drawn subjects'
  totals, column-wise (one list each, one position per total);
- ``bands``: per cohort, outcome and visit, ``n``, ``mean`` and the quantiles ``q10`` ...
  ``q90`` of the totals over every subject with one (:func:`trajectory_means`);
- ``panels``: per cohort and outcome, ``subjects`` (with any total) and ``drawn``;
- ``sample``: per cohort, ``subjects`` and ``drawn``; ``max_trajectories``; ``seed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["record_id", "cohort", "scale", "visit", "day", "score"]
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
SAMPLE_SEED = 20240601  # the seeded sample of subjects drawn individually (said in the caption)
BAND_KEYS = ["cohort", "scale", "visit", "day", "n", "mean", *(f"q{round(q * 100)}" for q in QUANTILES)]


def trajectory_data(pairs: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """Each included subject's totals by visit (baseline and follow-ups, available ones only).

    Returns
    -------
    pandas.DataFrame
        ``record_id``, ``cohort``, ``scale``, ``visit``, ``day`` (the visit's nominal day
        from the plan, else its position), ``score``; sorted by outcome, cohort, record, visit.
    """
    return _in_order(_totals(pairs, plan), plan)


def _totals(pairs: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """The rows of :func:`trajectory_data`, unsorted."""
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
    return out[COLUMNS]


def _in_order(data: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    order = {v: i for i, v in enumerate([plan.baseline_visit, *plan.followup_visits])}
    data = data.assign(_order=data["visit"].map(order))
    return data.sort_values(["scale", "cohort", "record_id", "_order"]).reset_index(drop=True)[COLUMNS]


def trajectory_means(data: pd.DataFrame) -> pd.DataFrame:
    """Mean and quantiles of the totals per cohort, outcome and visit over the subjects with
    that total (the bold line and the bands of each trajectory panel).

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``scale``, ``visit``, ``day``, ``n``, ``mean``, ``q10``, ``q25``,
        ``q50``, ``q75``, ``q90`` (linear interpolation, as ``numpy.quantile``).
    """
    keys = ["cohort", "scale", "visit", "day"]
    grouped = data.groupby(keys, sort=False)["score"]
    out = grouped.agg(n="count", mean="mean")
    quant = grouped.quantile(list(QUANTILES)).unstack()
    quant.columns = [f"q{round(q * 100)}" for q in QUANTILES]
    out = out.join(quant).reset_index()
    return out.sort_values(["cohort", "scale", "day"], kind="stable").reset_index(drop=True)


def trajectory_sample(data: pd.DataFrame, limit: int, seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, dict]:
    """The subjects drawn as individual lines: all of a cohort when it has at most ``limit``
    subjects, else a seeded random sample of ``limit`` of them (the same subjects in every
    outcome's panel).

    Returns
    -------
    (pandas.DataFrame, dict)
        The rows of the drawn subjects (sorted as ``data``) and, per cohort code,
        ``(drawn, total)`` subject counts.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    keep, counts = [], {}
    for code, ids in data.groupby("cohort", sort=True)["record_id"]:
        unique = np.sort(ids.unique())
        chosen = unique if len(unique) <= limit else rng.choice(unique, size=limit, replace=False)
        keep.append(chosen)
        counts[int(code)] = (len(chosen), len(unique))
    chosen_ids = np.concatenate(keep) if keep else np.array([], dtype=object)
    return data[data["record_id"].isin(chosen_ids)], counts


def summarise_trajectories(pairs: pd.DataFrame, plan: AnalysisPlan) -> dict:
    """The ``results.json`` ``trajectories`` entry (see the module docstring), JSON-ready."""
    from registry.analysis.results import JsonReady, records

    data = _totals(pairs, plan)  # only the drawn subjects' rows need sorting
    drawn, counts = trajectory_sample(data, plan.max_trajectories)
    drawn = _in_order(drawn, plan)
    panels = data.groupby(["cohort", "scale"], sort=True)["record_id"].nunique()
    shown = drawn.groupby(["cohort", "scale"], sort=True)["record_id"].nunique()
    return {
        **{k: JsonReady(v) for k, v in to_columns(drawn).items()},
        "bands": records(trajectory_means(data), BAND_KEYS),
        "panels": JsonReady(
            {"cohort": int(c), "scale": str(s), "subjects": int(n), "drawn": int(shown.get((c, s), 0))}
            for (c, s), n in panels.items()
        ),
        "sample": JsonReady({"cohort": c, "subjects": t, "drawn": d} for c, (d, t) in counts.items()),
        "max_trajectories": plan.max_trajectories,
        "seed": SAMPLE_SEED,
    }


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
