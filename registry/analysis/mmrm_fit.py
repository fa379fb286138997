"""Fit an MMRM by REML for one covariance structure, and choose a structure by BIC.

The REML log-likelihood is maximised over the covariance parameters with BFGS on the
analytic gradient (the fixed effects are profiled out by GLS). A fit counts as converged
only if the optimiser reports success, the gradient is small relative to the
log-likelihood, and the observed information (the negative Hessian, by central
differences of the gradient) is positive definite. A fit that fails any of these is
kept and reported as not converged; it is never chosen.

BIC follows nlme: -2 logLik + (p + q) log(N - p), with p fixed effects and q
covariance parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from registry.analysis import mmrm_reml
from registry.analysis.mmrm_covariance import Structure, derivatives
from registry.analysis.mmrm_design import Design

GRADIENT_TOL = 1e-4
INFORMATION_TOL = 1e-8  # smallest / largest eigenvalue of the observed information


@dataclass(frozen=True)
class Fit:
    """One fitted structure. ``state`` and ``information`` are None when not converged."""

    structure: Structure
    theta: np.ndarray
    converged: bool
    loglik: float
    message: str
    state: mmrm_reml.RemlState | None
    information: np.ndarray | None  # observed information of theta (negative Hessian)

    def bic(self, design: Design) -> float:
        p, q = design.n_fixed, self.structure.n_params
        return -2.0 * self.loglik + (p + q) * math.log(design.n_obs - p)


def _objective(theta: np.ndarray, design: Design, structure: Structure) -> tuple[float, np.ndarray]:
    st = mmrm_reml.state(design, structure.matrix(theta))
    if st is None or not np.isfinite(st.loglik):
        return 1e300, np.zeros_like(theta)
    grad = mmrm_reml.gradient(design, st, derivatives(structure, theta))
    return -st.loglik, -grad


def observed_information(design: Design, structure: Structure, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Negative Hessian of the REML log-likelihood in ``theta`` (central differences of the gradient)."""
    q = theta.size
    hess = np.empty((q, q))
    for k in range(q):
        h = np.zeros(q)
        h[k] = step
        up, down = _objective(theta + h, design, structure)[1], _objective(theta - h, design, structure)[1]
        hess[k] = (up - down) / (2 * step)
    return 0.5 * (hess + hess.T)


def start_values(design: Design) -> np.ndarray:
    """A T x T covariance of ordinary-least-squares residuals, from the pattern cross-products."""
    p, t = design.n_fixed, design.n_visits
    xtz = sum(np.einsum("aaij->ij", pat.cross) for pat in design.patterns)
    beta = np.linalg.solve(xtz[:p, :p], xtz[:p, p])
    w = np.append(-beta, 1.0)
    total, count = np.zeros((t, t)), np.zeros((t, t))
    for pat in design.patterns:
        idx = np.ix_(pat.visits, pat.visits)
        total[idx] += np.einsum("i,abij,j->ab", w, pat.cross, w)
        count[idx] += pat.n_subjects
    cov = np.where(count > 1, total / np.maximum(count, 1), 0.0)
    var = np.where(np.diag(cov) > 0, np.diag(cov), max(float(np.mean(np.diag(cov))), 1.0))
    cov[np.diag_indices(t)] = var
    # shrink towards the diagonal so that the start is positive definite
    for shrink in (1.0, 0.8, 0.5, 0.0):
        candidate = shrink * cov + (1 - shrink) * np.diag(var)
        if np.all(np.linalg.eigvalsh(candidate) > 1e-8 * var.max()):
            return candidate
    return np.diag(var)


def fit_structure(design: Design, name: str, start_cov: np.ndarray | None = None) -> Fit:
    """REML fit of the structure ``name`` (one of :data:`mmrm_covariance.STRUCTURES`)."""
    structure = Structure(name, design.n_visits)
    cov = start_values(design) if start_cov is None else start_cov
    theta0 = structure.start(cov)
    res = optimize.minimize(
        _objective, theta0, args=(design, structure), jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 500}
    )
    theta = res.x
    st = mmrm_reml.state(design, structure.matrix(theta))
    if st is None:
        return Fit(structure, theta, False, float("nan"), "covariance not positive definite", None, None)
    grad = mmrm_reml.gradient(design, st, derivatives(structure, theta))
    small = float(np.max(np.abs(grad))) <= GRADIENT_TOL * max(1.0, abs(st.loglik))
    info = observed_information(design, structure, theta)
    eig = np.linalg.eigvalsh(info) if np.all(np.isfinite(info)) else np.array([-1.0])
    definite = bool(eig.min() > INFORMATION_TOL * max(eig.max(), 1e-300))
    converged = bool(small and definite and (res.success or res.status == 2))
    message = (
        "converged"
        if converged
        else (res.message if not small else "observed information not positive definite (boundary or flat likelihood)")
    )
    return Fit(
        structure, theta, converged, st.loglik, str(message), st if converged else None, info if converged else None
    )


def select(design: Design, names: list[str]) -> tuple[list[Fit], Fit | None]:
    """Fit every structure in ``names``; the chosen one has the lowest BIC among converged fits.

    BICs equal to 1e-6 (e.g. cs and ar1 with two visits, the same model) are a tie, won by
    the structure listed first.
    """
    cov = start_values(design)
    fits = [fit_structure(design, name, cov) for name in names]
    converged = [f for f in fits if f.converged]
    chosen = min(converged, key=lambda f: round(f.bic(design), 6)) if converged else None
    return fits, chosen
