"""Planning figures for a paired t-test: power and the n needed, from the noncentral t.

The toolkit never reports post-hoc ("observed") power: it is a one-to-one function of the
p-value (Hoenig & Heisey 2001). Instead it gives a planning line: the number of complete
pairs a *future* study would need for the plan's target power if the true d_z were the
observed one, labelled as such.

Examples
--------
The pilot (d_z = 0.49, n = 18, two-sided alpha 0.05):

>>> round(compute_power(0.49, 18, 0.05), 3)
0.5
>>> compute_n_for_power(0.49, 0.05)
35
"""

from __future__ import annotations

import math


def compute_power(d_z: float, n: int, alpha: float, direction: str | None = None) -> float:
    """Power of a paired t-test with ``n`` pairs if the true effect is ``d_z``.

    Parameters
    ----------
    d_z : float
        Standardised mean change (mean change / SD of change), signed.
    n : int
        Number of complete pairs (df = n - 1).
    alpha : float
        Two-sided alpha when ``direction`` is None, else the one-sided alpha.
    direction : {"decrease", "increase"} or None
        The declared direction of a one-sided test.

    Returns
    -------
    float
        P(reject H0), from ``scipy.stats.nct`` with noncentrality d_z * sqrt(n).
    """
    from scipy import stats

    df, nc = n - 1, d_z * math.sqrt(n)
    if direction is None:
        crit = stats.t.ppf(1 - alpha / 2, df)
        return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))
    crit = stats.t.ppf(1 - alpha, df)
    signed = -nc if direction == "decrease" else nc
    return float(stats.nct.sf(crit, df, signed))


def compute_n_for_power(
    d_z: float, alpha: float, target: float = 0.8, direction: str | None = None, max_n: int = 10_000_000
) -> int | None:
    """Smallest number of pairs with power >= ``target`` at effect ``d_z``.

    Returns None when d_z is zero or undefined, when a one-sided test's declared direction
    is opposite to d_z, or when more than ``max_n`` pairs would be needed.
    """
    if d_z is None or not math.isfinite(d_z) or d_z == 0:
        return None
    if direction == "decrease" and d_z > 0 or direction == "increase" and d_z < 0:
        return None

    def enough(n: int) -> bool:
        return compute_power(d_z, n, alpha, direction) >= target

    lo, hi = 2, 4
    while not enough(hi):  # power rises with n: bracket, then bisect
        lo, hi = hi, hi * 2
        if hi > max_n:
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi
