"""Inference from a fitted MMRM: LS means, cohort differences, Satterthwaite or Kenward-Roger df.

LS means are the model's predictions for each cohort at each visit with the baseline at
its mean over the observations in the model (as emmeans and SAS LSMEANS average the
covariate over the rows of the data). Each estimate is a linear contrast ``l'b``.

Satterthwaite (as emmeans for ``gls``): df = 2 (l'Phi l)^2 / (g' W g), g_k = l' dPhi/dtheta_k l,
W the inverse of the observed information of the REML likelihood, Phi = Var(b).

Kenward-Roger (1997): Var(l'b) from the adjusted covariance
Phi_A = Phi + 2 Phi [sum_kl W_kl (Q_kl - P_k Phi P_l - R_kl / 4)] Phi with W the inverse
of the expected information, and the df m of their F approximation for one contrast, in
the covariance parameters SAS uses (:class:`mmrm_covariance.Natural`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from registry.analysis import mmrm_reml
from registry.analysis.mmrm_covariance import Natural, derivatives, second_derivatives
from registry.analysis.mmrm_design import Design, model_row
from registry.analysis.mmrm_fit import Fit


@dataclass(frozen=True)
class Estimate:
    estimate: float
    se: float
    df: float
    ci_low: float
    ci_high: float
    p: float


def lsmeans_rows(design: Design) -> np.ndarray:
    """Contrast rows, shape (cohorts, visits, p): every cohort at every visit, mean baseline."""
    c, t = len(design.cohorts), design.n_visits
    return np.array(
        [[model_row(i, v, design.mean_baseline, c, t, design.baseline_by_visit) for v in range(t)] for i in range(c)]
    )


def satterthwaite(design: Design, fit: Fit, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variances and Satterthwaite df of the contrasts ``rows`` (n, p)."""
    st = fit.state
    dphi = mmrm_reml.vcov_derivatives(design, st, derivatives(fit.structure, fit.theta))
    var = np.einsum("ni,ij,nj->n", rows, st.vcov, rows)
    g = np.einsum("ni,kij,nj->nk", rows, dphi, rows)
    w = np.linalg.inv(fit.information)
    return var, 2.0 * var**2 / np.einsum("nk,kl,nl->n", g, w, g)


def kenward_roger(design: Design, fit: Fit, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted variances and Kenward-Roger df of the contrasts ``rows`` (n, p)."""
    st, phi = fit.state, fit.state.vcov
    natural = Natural(fit.structure.name, fit.structure.n_visits)
    params = natural.parameters(fit.structure.matrix(fit.theta))
    d1 = derivatives(natural, params)
    d2 = second_derivatives(natural, params)
    p_mats, q_mats, traces = mmrm_reml.expected_information_terms(design, st, d1)
    q = d1.shape[0]
    p = design.n_fixed
    _, r_z = mmrm_reml.sandwiches(design, st, d2.reshape(q * q, *d2.shape[2:]))
    r_mats = r_z[:, :p, :p].reshape(q, q, p, p)
    phi_p = np.einsum("ij,kjl->kil", phi, p_mats)  # Phi P_k
    info = 0.5 * (traces - 2.0 * np.einsum("ij,klji->kl", phi, q_mats) + np.einsum("kij,lji->kl", phi_p, phi_p))
    w = np.linalg.inv(info)
    inner = q_mats - np.einsum("kij,ljm->klim", p_mats, phi_p) - 0.25 * r_mats
    adjusted = phi + 2.0 * phi @ np.einsum("kl,klij->ij", w, inner) @ phi
    var = np.einsum("ni,ij,nj->n", rows, adjusted, rows)
    df = np.array([_kr_df(row, phi, phi_p, w) for row in rows])
    return var, df


def _kr_df(row: np.ndarray, phi: np.ndarray, phi_p: np.ndarray, w: np.ndarray) -> float:
    """Kenward & Roger's denominator df m for the single contrast ``row`` (l = 1)."""
    theta = np.outer(row, row) / float(row @ phi @ row)
    m_k = np.einsum("ij,kjl,lm->kim", theta, phi_p, phi)  # Theta Phi P_k Phi
    tr = np.einsum("kii->k", m_k)
    a1 = float(tr @ w @ tr)
    a2 = float(np.einsum("kl,kij,lji->", w, m_k, m_k))
    b = (a1 + 6.0 * a2) / 2.0
    g = (2.0 * a1 - 5.0 * a2) / (3.0 * a2)
    d = 3.0 + 2.0 * (1.0 - g)
    c1, c2, c3 = g / d, (1.0 - g) / d, (3.0 - g) / d
    e_star = 1.0 / (1.0 - a2)
    v_star = 2.0 * (1.0 + c1 * b) / ((1.0 - c2 * b) ** 2 * (1.0 - c3 * b))
    rho = v_star / (2.0 * e_star**2)
    return 4.0 + 3.0 / (rho - 1.0)


def estimates(
    design: Design, fit: Fit, rows: np.ndarray, df_method: str = "satterthwaite", confidence: float = 0.95
) -> list[Estimate]:
    """Estimate, SE, df, two-sided CI and p (against 0) of each contrast row."""
    rows = np.atleast_2d(rows)
    method = kenward_roger if df_method == "kenward-roger" else satterthwaite
    var, df = method(design, fit, rows)
    est = rows @ fit.state.beta
    se = np.sqrt(var)
    crit = stats.t.ppf(0.5 + confidence / 2.0, df)
    pval = 2.0 * stats.t.sf(np.abs(est / se), df)
    columns = zip(est, se, df, est - crit * se, est + crit * se, pval, strict=True)
    return [Estimate(*(float(v) for v in vals)) for vals in columns]
