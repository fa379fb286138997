"""Design matrices of an MMRM and their sufficient statistics per missingness pattern.

The fixed effects are those of R's ``change ~ cohort * visit + baseline`` with default
treatment contrasts (first cohort code and first visit are the reference levels):
intercept, cohort, visit, baseline, cohort:visit, and optionally baseline:visit.

Subjects are grouped by the set of visits they have (their missingness pattern). Every
quantity the REML likelihood needs is a sum over subjects of ``z_i' A z_i`` with
``z_i = [X_i | y_i]`` and ``A`` a matrix that depends only on the pattern, so the
per-pattern cross-products ``C[a, b] = sum_i z_ia z_ib'`` are computed once and every
likelihood evaluation costs the same whatever the number of subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NotEstimable(ValueError):
    """The data cannot support the model (too few observations, an empty cohort x visit cell)."""


@dataclass(frozen=True)
class Pattern:
    """The subjects who have exactly the visits ``visits`` (indices into the plan's visits)."""

    visits: np.ndarray  # (k,) visit indices
    n_subjects: int
    cross: np.ndarray  # (k, k, p + 1, p + 1): sum_i z_ia z_ib'


@dataclass(frozen=True)
class Design:
    """Model data: the patterns, the dimensions, and the levels behind the columns."""

    patterns: list[Pattern]
    n_visits: int
    n_obs: int
    n_subjects: int
    columns: list[str]
    cohorts: list
    mean_baseline: float
    baseline_by_visit: bool

    @property
    def n_fixed(self) -> int:
        return len(self.columns)


def model_row(
    cohort_idx: int, visit_idx: int, baseline: float, n_cohorts: int, n_visits: int, baseline_by_visit: bool
) -> np.ndarray:
    """The fixed-effects row for one observation (also used for LS-means grids)."""
    cohort = np.zeros(n_cohorts - 1)
    if cohort_idx > 0:
        cohort[cohort_idx - 1] = 1.0
    visit = np.zeros(n_visits - 1)
    if visit_idx > 0:
        visit[visit_idx - 1] = 1.0
    parts = [[1.0], cohort, visit, [baseline], np.outer(visit, cohort).ravel()]
    if baseline_by_visit:
        parts.append(visit * baseline)
    return np.concatenate(parts)


def _model_matrix(
    cohort_idx: np.ndarray,
    visit_idx: np.ndarray,
    baseline: np.ndarray,
    n_cohorts: int,
    n_visits: int,
    baseline_by_visit: bool,
) -> np.ndarray:
    n = cohort_idx.size
    cohort = np.zeros((n, n_cohorts))
    cohort[np.arange(n), cohort_idx] = 1.0
    visit = np.zeros((n, n_visits))
    visit[np.arange(n), visit_idx] = 1.0
    cohort, visit = cohort[:, 1:], visit[:, 1:]
    inter = (visit[:, :, None] * cohort[:, None, :]).reshape(n, -1)
    parts = [np.ones((n, 1)), cohort, visit, baseline[:, None], inter]
    if baseline_by_visit:
        parts.append(visit * baseline[:, None])
    return np.hstack(parts)


def column_names(cohorts: list, visits: list, baseline_by_visit: bool) -> list[str]:
    """Column names as R's ``model.matrix`` spells them."""
    names = ["(Intercept)"] + [f"cohort{c}" for c in cohorts[1:]] + [f"visit{v}" for v in visits[1:]]
    names += ["baseline"] + [f"cohort{c}:visit{v}" for v in visits[1:] for c in cohorts[1:]]
    if baseline_by_visit:
        names += [f"visit{v}:baseline" for v in visits[1:]]
    return names


def build_design(
    subject: np.ndarray,
    visit_idx: np.ndarray,
    cohort: np.ndarray,
    baseline: np.ndarray,
    change: np.ndarray,
    visits: list,
    cohorts: list,
    baseline_by_visit: bool = False,
) -> Design:
    """Design of the observations given as parallel arrays, one element per observation.

    ``visit_idx`` indexes ``visits`` (plan order); ``cohort`` holds cohort codes, each in
    ``cohorts`` (code order). A subject must have one cohort and one baseline, and at most
    one observation per visit.
    """
    subject = np.asarray(subject)
    visit_idx = np.asarray(visit_idx, dtype=np.int64)
    baseline = np.asarray(baseline, dtype=float)
    change = np.asarray(change, dtype=float)
    n_visits = len(visits)
    code_index = {c: i for i, c in enumerate(cohorts)}
    cohort_idx = np.array([code_index[c] for c in np.asarray(cohort).tolist()], dtype=np.int64)
    _, subj = np.unique(subject, return_inverse=True)
    order = np.lexsort((visit_idx, subj))
    subj, visit_idx, cohort_idx = subj[order], visit_idx[order], cohort_idx[order]
    baseline, change = baseline[order], change[order]
    if np.any((subj[1:] == subj[:-1]) & (visit_idx[1:] == visit_idx[:-1])):
        raise ValueError("a subject has two observations at one visit")
    x = _model_matrix(cohort_idx, visit_idx, baseline, len(cohorts), n_visits, baseline_by_visit)
    n_obs, n_fixed = x.shape
    if n_obs <= n_fixed or np.linalg.matrix_rank(x) < n_fixed:
        raise NotEstimable(
            f"{n_obs} observations cannot estimate the {n_fixed} fixed effects "
            "(a cohort without observations at a visit?)"
        )
    z = np.hstack([x, change[:, None]])
    code = np.bincount(subj, weights=2.0**visit_idx).astype(np.int64)
    obs_code = code[subj]
    patterns = []
    for pat in np.unique(code):
        rows = obs_code == pat
        vis = np.flatnonzero([(pat >> t) & 1 for t in range(n_visits)])
        zp = z[rows].reshape(-1, vis.size, n_fixed + 1)
        patterns.append(Pattern(vis, zp.shape[0], np.einsum("nai,nbj->abij", zp, zp, optimize=True)))
    return Design(
        patterns=patterns,
        n_visits=n_visits,
        n_obs=n_obs,
        n_subjects=int(code.size),
        columns=column_names(cohorts, visits, baseline_by_visit),
        cohorts=list(cohorts),
        mean_baseline=float(baseline.mean()),
        baseline_by_visit=baseline_by_visit,
    )
