"""The REML log-likelihood of an MMRM, its gradient, and the pieces inference needs.

With V the block-diagonal covariance of all observations, X the fixed effects, y the
changes and p = rank(X), nlme's REML log-likelihood of ``gls`` is

    l = -1/2 [ (N - p) log(2 pi) + log|V| + log|X'V^-1 X| + r'V^-1 r ],

r = y - X b at the GLS estimate b, the value ``logLik(gls(..., method = "REML"))``
reports. Every term is a contraction of the per-pattern cross-products of :mod:`mmrm_design` with a
pattern-sized matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from registry.analysis.mmrm_design import Design

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class RemlState:
    """Everything at one covariance matrix: inverses per pattern, GLS estimates, likelihood."""

    inverses: list[np.ndarray]  # S_p^-1 per pattern
    beta: np.ndarray
    vcov: np.ndarray  # (X'V^-1 X)^-1
    loglik: float
    weight: np.ndarray  # [-beta, 1], so that r'A r = weight' (Z'A Z) weight


def contract(design: Design, mats: list[np.ndarray]) -> np.ndarray:
    """``sum_p sum_ab mats[p][..., a, b] C_p[a, b]``: Z'AZ for pattern-wise matrices A.

    ``mats[p]`` has shape (m, k_p, k_p); the result has shape (m, p + 1, p + 1).
    """
    out = None
    for pat, mat in zip(design.patterns, mats, strict=True):
        term = np.tensordot(mat, pat.cross, axes=([1, 2], [0, 1]))  # einsum "mab,abij->mij"
        out = term if out is None else out + term
    return out


def state(design: Design, sigma: np.ndarray) -> RemlState | None:
    """The REML state at the T x T covariance ``sigma``; None if it is not positive definite."""
    inverses, logdet_v = [], 0.0
    for pat in design.patterns:
        sub = sigma[np.ix_(pat.visits, pat.visits)]
        try:
            chol = np.linalg.cholesky(sub)
        except np.linalg.LinAlgError:
            return None
        inv_chol = np.linalg.inv(chol)
        inverses.append(inv_chol.T @ inv_chol)
        logdet_v += pat.n_subjects * 2.0 * float(np.sum(np.log(np.diag(chol))))
    m = contract(design, [inv[None] for inv in inverses])[0]
    p = design.n_fixed
    xvx, xvy, yvy = m[:p, :p], m[:p, p], m[p, p]
    try:
        chol = np.linalg.cholesky(xvx)
    except np.linalg.LinAlgError:
        return None
    vcov = np.linalg.inv(xvx)
    vcov = 0.5 * (vcov + vcov.T)
    beta = vcov @ xvy
    quad = float(yvy - xvy @ beta)
    logdet_xvx = 2.0 * float(np.sum(np.log(np.diag(chol))))
    loglik = -0.5 * ((design.n_obs - p) * LOG_2PI + logdet_v + logdet_xvx + quad)
    return RemlState(inverses, beta, vcov, loglik, np.append(-beta, 1.0))


def sandwiches(design: Design, st: RemlState, dsigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each derivative V_k of V: tr(V^-1 V_k) (shape q) and Z'V^-1 V_k V^-1 Z (q, p+1, p+1)."""
    traces = np.zeros(dsigma.shape[0])
    mats = []
    for pat, inv in zip(design.patterns, st.inverses, strict=True):
        d = dsigma[:, pat.visits][:, :, pat.visits]
        traces += pat.n_subjects * np.einsum("ab,kba->k", inv, d)
        mats.append(inv @ d @ inv)
    return traces, contract(design, mats)


def gradient(design: Design, st: RemlState, dsigma: np.ndarray) -> np.ndarray:
    """d l / d theta_k = -1/2 [tr(V^-1 V_k) - tr(Phi X'A_k X) - r'A_k r], A_k = V^-1 V_k V^-1."""
    p = design.n_fixed
    traces, zaz = sandwiches(design, st, dsigma)
    tr_phi = np.einsum("ij,kji->k", st.vcov, zaz[:, :p, :p])
    quad = np.einsum("i,kij,j->k", st.weight, zaz, st.weight)
    return -0.5 * (traces - tr_phi - quad)


def vcov_derivatives(design: Design, st: RemlState, dsigma: np.ndarray) -> np.ndarray:
    """d Var(b) / d theta_k = Phi X'A_k X Phi, shape (q, p, p)."""
    p = design.n_fixed
    _, zaz = sandwiches(design, st, dsigma)
    return np.einsum("ij,kjl,lm->kim", st.vcov, zaz[:, :p, :p], st.vcov)


def expected_information_terms(design: Design, st: RemlState, dsigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kenward-Roger pieces: P_k = -X'A_k X (q, p, p) and Q_kl = X'V^-1 V_k V^-1 V_l V^-1 X
    (q, q, p, p), plus tr(V^-1 V_k V^-1 V_l) (q, q), returned as (P, Q, traces)."""
    p = design.n_fixed
    q = dsigma.shape[0]
    traces = np.zeros((q, q))
    mats = []
    for pat, inv in zip(design.patterns, st.inverses, strict=True):
        d = dsigma[:, pat.visits][:, :, pat.visits]
        vd = inv @ d  # (q, k, k): V^-1 V_k
        traces += pat.n_subjects * np.einsum("kab,lba->kl", vd, vd)
        mats.append(np.einsum("kab,lbc,cd->klad", vd, vd, inv).reshape(q * q, *inv.shape))
    _, zaz = sandwiches(design, st, dsigma)
    big = contract(design, mats).reshape(q, q, p + 1, p + 1)
    return -zaz[:, :p, :p], big[:, :, :p, :p], traces
