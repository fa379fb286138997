"""The plan's mixed model for repeated measures: the ``mmrm`` entry of results.json.

The observations are the complete pairs of ``_pairs`` (the paired analysis's rows, so
the same in-window rule) at the ``[mmrm]`` visits: every analysed subject with a
baseline total and at least one follow-up total contributes each follow-up it has. Per
outcome the covariance structure is fitted (or chosen by BIC among the candidates that
converge, :mod:`mmrm_fit`) and LS means and the ``compare`` minus ``reference`` cohort
difference are reported at each visit (:mod:`mmrm_inference`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from registry.analysis.mmrm_design import NotEstimable, build_design
from registry.analysis.mmrm_fit import select
from registry.analysis.mmrm_inference import estimates, lsmeans_rows

if TYPE_CHECKING:
    import pandas as pd

    from registry.analysis.mmrm_plan import MmrmPlan
    from registry.analysis.plan import AnalysisPlan

MODEL = "change ~ cohort + visit + cohort:visit + baseline"


def model_formula(spec: MmrmPlan) -> str:
    """The fixed effects in R's notation."""
    return MODEL + (" + baseline:visit" if spec.baseline_by_visit else "")


def model_rows(pairs: pd.DataFrame, spec: MmrmPlan) -> pd.DataFrame:
    """The observations the model uses: complete pairs at the plan's MMRM outcomes and visits."""
    used = pairs["left_out"].isna() & pairs["scale"].isin(spec.outcomes) & pairs["visit"].isin(spec.visits)
    return pairs.loc[used, ["scale", "record_id", "cohort", "visit", "baseline", "change"]]


def _estimate_dict(est) -> dict:
    keys = ("estimate", "se", "df", "ci_low", "ci_high")
    return {key: finite(getattr(est, key)) for key in keys}


def fit_outcome(
    rows: pd.DataFrame, scale: str, spec: MmrmPlan, compare: int, reference: int, confidence: float = 0.95
) -> dict:
    """The results.json object of one outcome (``rows``: that outcome's model rows)."""
    visits = [v for v in spec.visits if v in set(rows["visit"])]
    cohorts = sorted(int(c) for c in set(rows["cohort"]))
    out = {
        "scale": scale,
        "model": model_formula(spec),
        "df_method": spec.df,
        "covariance": None,
        "candidates": [],
        "n_subjects": int(rows["record_id"].nunique()),
        "n_observations": len(rows),
        "mean_baseline": float(rows["baseline"].mean()) if len(rows) else None,
        "lsmeans": [],
        "differences": [],
        "note": None,
    }
    try:
        if len(cohorts) < 2 or not visits:
            raise NotEstimable("fewer than two cohorts or no follow-up visit with data")
        visit_index = {v: i for i, v in enumerate(visits)}
        design = build_design(
            rows["record_id"].to_numpy(),
            rows["visit"].map(visit_index).to_numpy(),
            rows["cohort"].astype(int).to_numpy(),
            rows["baseline"].to_numpy(dtype=float),
            rows["change"].to_numpy(dtype=float),
            visits,
            cohorts,
            spec.baseline_by_visit,
        )
    except NotEstimable as exc:
        out["note"] = f"not estimable: {exc}"
        out["candidates"] = [
            {"structure": s, "reml_loglik": None, "bic": None, "converged": False} for s in spec.structures
        ]
        return out
    fits, chosen = select(design, list(spec.structures))
    out["candidates"] = [
        {
            "structure": f.structure.name,
            "reml_loglik": finite(f.loglik) if f.converged else None,
            "bic": finite(f.bic(design)) if f.converged else None,
            "converged": f.converged,
            **({} if f.converged else {"message": f.message}),
        }
        for f in fits
    ]
    if chosen is None:
        out["note"] = "no candidate covariance structure converged; no estimates are reported"
        return out
    out["covariance"] = chosen.structure.name
    grid = lsmeans_rows(design)
    flat = estimates(design, chosen, grid.reshape(-1, grid.shape[-1]), spec.df, confidence)
    out["lsmeans"] = [
        {"cohort": cohorts[i], "visit": visits[v], **_estimate_dict(flat[i * len(visits) + v])}
        for v in range(len(visits))
        for i in range(len(cohorts))
    ]
    if compare in cohorts and reference in cohorts:
        diff_rows = grid[cohorts.index(compare)] - grid[cohorts.index(reference)]
        out["differences"] = [
            {"visit": visit, "compare": compare, "reference": reference, **_estimate_dict(est), "p": finite(est.p)}
            for visit, est in zip(visits, estimates(design, chosen, diff_rows, spec.df, confidence), strict=True)
        ]
    return out


def compute_mmrm(pairs: pd.DataFrame, plan: AnalysisPlan) -> list[dict]:
    """The ``mmrm`` list of results.json: one object per ``[mmrm]`` outcome, in plan order."""
    spec = plan.mmrm
    if spec is None:
        return []
    rows = model_rows(pairs, spec)
    return [
        fit_outcome(rows[rows["scale"] == scale], scale, spec, plan.cox_compare, plan.cox_reference, plan.confidence)
        for scale in spec.outcomes
    ]


def finite(value: float | None) -> float | None:
    """JSON-safe number (NaN and infinities become null)."""
    return None if value is None or not np.isfinite(value) else float(value)
