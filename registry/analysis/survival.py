"""Kaplan–Meier, log-rank and Cox (Efron ties) in numpy, for :mod:`registry.analysis.relapse`.

Why not lifelines: these three fits were a sixth of a 20,000-patient ``registry analyze``
(about 1.2 s, mostly the general machinery of ``CoxPHFitter`` around six two-covariate fits,
and 0.3 s to import lifelines, autograd and formulaic), where the formulas are a few array
operations. They are the ones lifelines and R ``survival`` use, checked against both:
``tests/test_relapse.py`` and ``tests/test_cox_fidelity.py`` pin them to R (``survfit``
log-log CI, ``survdiff``, ``coxph`` to 1e-8), ``tests/test_pandas_script.py`` to the lifelines
fits of ``bench/pandas_script.py`` to 1e-9.
"""

from __future__ import annotations

import numpy as np

MAX_STEPS = 100


class NotConverged(Exception):
    """The Cox partial likelihood has no finite maximum that Newton–Raphson reaches."""


def kaplan_meier(days: np.ndarray, event: np.ndarray, confidence: float) -> dict[str, np.ndarray]:
    """Kaplan–Meier estimate at each event time with the log-log (exponential Greenwood)
    pointwise interval, as R ``survfit(conf.type = "log-log")`` and lifelines give it.

    Returns
    -------
    dict
        ``day``, ``at_risk``, ``events``, ``survival``, ``ci_low``, ``ci_high`` (arrays over
        the days with at least one event; the interval is NaN where it is undefined).
    """
    from scipy import stats

    times, inverse = np.unique(days, return_inverse=True)
    removed = np.bincount(inverse, minlength=len(times))
    deaths = np.bincount(inverse, weights=event.astype(float), minlength=len(times))
    at_risk = len(days) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_survival = np.cumsum(np.log(at_risk - deaths) - np.log(at_risk))
        greenwood = np.cumsum(np.nan_to_num(deaths / (at_risk * (at_risk - deaths)), posinf=0.0))
        survival = np.exp(log_survival)
        v = np.log(survival)
        z = stats.norm.ppf(1 - (1 - confidence) / 2)
        low = np.exp(-np.exp(np.log(-v) - z * np.sqrt(greenwood) / v))
        high = np.exp(-np.exp(np.log(-v) + z * np.sqrt(greenwood) / v))
    keep = deaths > 0
    undefined = survival[keep] <= 0
    return {
        "day": times[keep].astype(float),
        "at_risk": at_risk[keep].astype(int),
        "events": deaths[keep].astype(int),
        "survival": survival[keep],
        "ci_low": np.where(undefined, np.nan, np.nan_to_num(low[keep], nan=1.0)),
        "ci_high": np.where(undefined, np.nan, np.nan_to_num(high[keep], nan=1.0)),
    }


def logrank(days: np.ndarray, event: np.ndarray, group: np.ndarray) -> tuple[float, float]:
    """Log-rank chi-square (1 df) and p of ``group`` (bool) against the rest (R ``survdiff``)."""
    from scipy import stats

    times, inverse = np.unique(days, return_inverse=True)
    n_times = len(times)
    removed = np.bincount(inverse, minlength=n_times)
    removed_1 = np.bincount(inverse, weights=group.astype(float), minlength=n_times)
    deaths = np.bincount(inverse, weights=event.astype(float), minlength=n_times)
    deaths_1 = np.bincount(inverse, weights=(event & group).astype(float), minlength=n_times)
    at_risk = len(days) - np.concatenate([[0], np.cumsum(removed)[:-1]])
    at_risk_1 = group.sum() - np.concatenate([[0], np.cumsum(removed_1)[:-1]])
    expected = deaths * at_risk_1 / at_risk
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.nan_to_num(
            deaths * (at_risk_1 / at_risk) * (1 - at_risk_1 / at_risk) * (at_risk - deaths) / (at_risk - 1)
        )
    chisq = float((deaths_1.sum() - expected.sum()) ** 2 / variance.sum())
    return chisq, float(stats.chi2.sf(chisq, 1))


def cox_efron(days: np.ndarray, event: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cox proportional hazards by Newton–Raphson on the Efron partial likelihood, to full
    convergence (as R ``coxph``, step halving when the likelihood falls).

    Parameters
    ----------
    days, event : numpy.ndarray
        Follow-up times and event flags (bool).
    x : numpy.ndarray
        Covariates, one column each (n x p).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The coefficients and their standard errors (from the observed information).

    Raises
    ------
    NotConverged
        No finite maximum was reached in :data:`MAX_STEPS` steps.
    numpy.linalg.LinAlgError
        The information matrix is singular.
    """
    order = np.lexsort((~event, days))  # by time, events first among ties (irrelevant to sums)
    t, d, x = days[order], event[order], x[order] - x.mean(axis=0)
    n, p = x.shape
    # risk set of a time: everyone from its first index on; tie groups of event times
    first = np.searchsorted(t, t, side="left")
    event_rows = np.flatnonzero(d)
    groups, group_of = np.unique(t[event_rows], return_inverse=True)
    size = np.bincount(group_of)
    start = first[event_rows][np.searchsorted(group_of, np.arange(len(groups)))]
    # one Efron term per event: l / d_j for l = 0 .. d_j - 1 within its tie group
    rank = np.arange(len(event_rows)) - np.concatenate([[0], np.cumsum(size)[:-1]])[group_of]
    frac = rank / size[group_of]

    def parts(beta: np.ndarray):
        r = np.exp(x @ beta)
        rx = r[:, None] * x
        rxx = rx[:, :, None] * x[:, None, :]
        s0 = np.cumsum(r[::-1])[::-1][start]
        s1 = np.cumsum(rx[::-1], axis=0)[::-1][start]
        s2 = np.cumsum(rxx[::-1], axis=0)[::-1][start]
        t0 = np.bincount(group_of, weights=r[event_rows])
        t1 = np.stack([np.bincount(group_of, weights=rx[event_rows, k]) for k in range(p)], axis=1)
        t2 = np.stack(
            [np.bincount(group_of, weights=rxx[event_rows, k, m]) for k in range(p) for m in range(p)], axis=1
        ).reshape(-1, p, p)
        den = s0[group_of] - frac * t0[group_of]
        num1 = s1[group_of] - frac[:, None] * t1[group_of]
        num2 = s2[group_of] - frac[:, None, None] * t2[group_of]
        loglik = float((x[event_rows] @ beta).sum() - np.log(den).sum())
        mean = num1 / den[:, None]
        gradient = x[event_rows].sum(axis=0) - mean.sum(axis=0)
        information = (num2 / den[:, None, None]).sum(axis=0) - np.einsum("ek,em->km", mean, mean)
        return loglik, gradient, information

    beta = np.zeros(p)
    loglik, gradient, information = parts(beta)
    for _ in range(MAX_STEPS):
        step = np.linalg.solve(information, gradient)
        trial = beta + step
        new = parts(trial)
        halvings = 0
        while not new[0] >= loglik - 1e-12 * abs(loglik) and halvings < 30:  # R coxph: halve a step that fails
            step /= 2
            trial = beta + step
            new = parts(trial)
            halvings += 1
        beta, (loglik, gradient, information) = trial, new
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) < 1e-12 * max(1.0, float(np.max(np.abs(beta)))):
            return beta, np.sqrt(np.diag(np.linalg.inv(information)))
    raise NotConverged(f"no finite maximum after {MAX_STEPS} Newton steps")
