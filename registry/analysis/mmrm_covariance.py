"""Covariance structures of the residuals of one subject across the T visits of an MMRM.

Each structure maps an unconstrained parameter vector ``theta`` to the T x T covariance
matrix of a subject with every visit observed; a subject with visits missing uses the
rows and columns of the visits it has. The structures and the number of covariance
parameters nlme counts for them (``q`` in BIC):

=====================  =======================================================  =========
name                   nlme::gls equivalent                                     q
=====================  =======================================================  =========
``unstructured``       ``corSymm`` + ``varIdent(~ 1 | visit)``                  T(T+1)/2
``heterogeneous-cs``   ``corCompSymm`` + ``varIdent(~ 1 | visit)``              T + 1
``cs``                 ``corCompSymm``                                          2
``ar1``                ``corAR1(form = ~ visit_index | id)``                    2
``heterogeneous-ar1``  ``corAR1(form = ~ visit_index | id)`` + ``varIdent``     T + 1
=====================  =======================================================  =========

AR(1) lags are differences of the visit index (plan order), as ``corAR1`` with an
integer covariate. The parametrisation (log-Cholesky for unstructured, log standard
deviations, a logistic map for correlations) only serves the optimiser: the fitted
covariance, the likelihood and the inference derived from them do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

STRUCTURES = ("unstructured", "heterogeneous-cs", "cs", "ar1", "heterogeneous-ar1")


def _expit(u: float) -> float:
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _unstructured(theta: np.ndarray, t: int) -> np.ndarray:
    chol = np.zeros((t, t))
    rows, cols = np.tril_indices(t)
    chol[rows, cols] = theta
    chol[np.diag_indices(t)] = np.exp(np.diag(chol))
    return chol @ chol.T


def _cs_correlation(u: float, t: int) -> np.ndarray:
    low = -1.0 / (t - 1) if t > 1 else -1.0
    rho = low + (1.0 - low) * _expit(u)
    return (1.0 - rho) * np.eye(t) + rho * np.ones((t, t))


def _ar1_correlation(u: float, t: int) -> np.ndarray:
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    return np.tanh(u) ** lag


def _homogeneous(correlation: Callable[[float, int], np.ndarray]) -> Callable[[np.ndarray, int], np.ndarray]:
    def build(theta: np.ndarray, t: int) -> np.ndarray:
        return np.exp(2.0 * theta[0]) * correlation(theta[1], t)

    return build


def _heterogeneous(correlation: Callable[[float, int], np.ndarray]) -> Callable[[np.ndarray, int], np.ndarray]:
    def build(theta: np.ndarray, t: int) -> np.ndarray:
        sd = np.exp(theta[:t])
        return np.outer(sd, sd) * correlation(theta[t], t)

    return build


@dataclass(frozen=True)
class Structure:
    """One covariance structure for ``n_visits`` visits."""

    name: str
    n_visits: int

    @property
    def n_params(self) -> int:
        t = self.n_visits
        return {"unstructured": t * (t + 1) // 2, "cs": 2, "ar1": 2}.get(self.name, t + 1)

    def matrix(self, theta: np.ndarray) -> np.ndarray:
        """The T x T covariance matrix at ``theta``."""
        build = _BUILDERS[self.name]
        return build(np.asarray(theta, dtype=float), self.n_visits)

    def start(self, residual_cov: np.ndarray) -> np.ndarray:
        """Starting ``theta`` from a crude T x T residual covariance (e.g. of OLS residuals)."""
        t = self.n_visits
        var = np.clip(np.diag(residual_cov), 1e-8, None)
        sd = np.sqrt(var)
        corr = residual_cov / np.outer(sd, sd)
        mean_corr = float(np.mean(corr[np.triu_indices(t, 1)])) if t > 1 else 0.0
        if self.name == "unstructured":
            chol = np.linalg.cholesky(residual_cov + 1e-6 * np.diag(var))
            chol[np.diag_indices(t)] = np.log(np.diag(chol))
            return chol[np.tril_indices(t)]
        if self.name in ("cs", "heterogeneous-cs"):
            low = -1.0 / (t - 1) if t > 1 else -1.0
            u = _logit(np.clip((mean_corr - low) / (1.0 - low), 0.05, 0.95))
        else:
            u = float(np.arctanh(np.clip(mean_corr, -0.9, 0.9)))
        if self.name in ("cs", "ar1"):
            return np.array([0.5 * np.log(np.mean(var)), u])
        return np.concatenate([np.log(sd), [u]])


_BUILDERS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "unstructured": _unstructured,
    "heterogeneous-cs": _heterogeneous(_cs_correlation),
    "cs": _homogeneous(_cs_correlation),
    "ar1": _homogeneous(_ar1_correlation),
    "heterogeneous-ar1": _heterogeneous(_ar1_correlation),
}


@dataclass(frozen=True)
class Natural:
    """A structure in the parameters SAS's Kenward-Roger uses: covariances for unstructured
    (linear), the between-subject covariance and residual variance for cs (linear), the
    variances and the correlation for the others. Kenward-Roger is not invariant to
    reparametrisation; these make it exact where the model is linear in its parameters."""

    name: str
    n_visits: int

    def matrix(self, phi: np.ndarray) -> np.ndarray:
        t = self.n_visits
        phi = np.asarray(phi, dtype=float)
        if self.name == "unstructured":
            upper = np.zeros((t, t))
            upper[np.triu_indices(t)] = phi
            return upper + np.triu(upper, 1).T
        if self.name == "cs":
            return phi[0] * np.ones((t, t)) + phi[1] * np.eye(t)
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        rho = phi[-1]
        corr = np.where(lag == 0, 1.0, rho) if self.name.endswith("cs") else rho**lag
        sd = np.sqrt(np.full(t, phi[0]) if self.name == "ar1" else phi[:t])
        return np.outer(sd, sd) * corr

    def parameters(self, sigma: np.ndarray) -> np.ndarray:
        """The natural parameters of the covariance matrix ``sigma`` of this structure."""
        t = self.n_visits
        if self.name == "unstructured":
            return sigma[np.triu_indices(t)]
        if self.name == "cs":
            return np.array([sigma[0, 1], sigma[0, 0] - sigma[0, 1]])
        if self.name == "ar1":
            return np.array([sigma[0, 0], sigma[0, 1] / sigma[0, 0]])
        return np.append(np.diag(sigma), sigma[0, 1] / np.sqrt(sigma[0, 0] * sigma[1, 1]))


def derivatives(structure: Structure | Natural, theta: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """First derivatives of the covariance matrix, shape (q, T, T), by central differences
    (the matrices are smooth closed forms, so the error is of order ``step**2``)."""
    theta = np.asarray(theta, dtype=float)
    out = np.empty((theta.size, structure.n_visits, structure.n_visits))
    for k in range(theta.size):
        h = np.zeros_like(theta)
        h[k] = step
        out[k] = (structure.matrix(theta + h) - structure.matrix(theta - h)) / (2 * step)
    return out


def second_derivatives(structure: Structure | Natural, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Second derivatives of the covariance matrix, shape (q, q, T, T), by central differences."""
    theta = np.asarray(theta, dtype=float)
    q = theta.size
    out = np.empty((q, q, structure.n_visits, structure.n_visits))
    for k in range(q):
        h = np.zeros(q)
        h[k] = step
        out[k] = (derivatives(structure, theta + h) - derivatives(structure, theta - h)) / (2 * step)
    return 0.5 * (out + out.transpose(1, 0, 2, 3))
