"""Write mmrm_data.csv: synthetic repeated scale totals with dropout for mmrm_reference.R.

Run once:  python tests/data/r_reference/mmrm_data.py   (seeded; the CSV is committed)

Two data sets. ``four``: 140 subjects, 2 cohorts, 4 follow-up visits, correlated
residuals whose correlation decays with the lag (so AR(1) and CS differ), monotone
dropout and some intermittent missed visits. ``two``: 90 subjects, 2 cohorts, the plan's
2 follow-up visits, about a quarter of the subjects without the second.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

VISITS = {
    "four": ["week_4_arm_1", "week_8_arm_1", "week_12_arm_1", "week_16_arm_1"],
    "two": ["week_8_arm_1", "week_16_arm_1"],
}


def subjects(rng: np.random.Generator, name: str, n: int, visits: list[str]):
    t = len(visits)
    lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    sd = np.linspace(5.0, 8.0, t)
    cov = np.outer(sd, sd) * (0.3 + 0.55 * 0.6**lag)
    cov[np.diag_indices(t)] = sd**2
    for i in range(n):
        cohort = 1 if i % 2 == 0 else 2
        baseline = float(rng.integers(22, 45))
        slope = -2.5 if cohort == 1 else -1.5
        mean = slope * np.arange(1, t + 1) - 0.2 * (baseline - 32)
        change = np.round(mean + rng.multivariate_normal(np.zeros(t), cov), 0)
        last = t if rng.random() < 0.6 else int(rng.integers(1, t + 1))
        for v in range(last):
            if v > 0 and rng.random() < 0.08:
                continue  # an intermittent missed visit
            yield [name, f"{name}-{i + 1:03d}", cohort, visits[v], v + 1, baseline, change[v]]


def main() -> None:
    rng = np.random.default_rng(20261204)
    out = Path(__file__).with_name("mmrm_data.csv")
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dataset", "id", "cohort", "visit", "visit_index", "baseline", "change"])
        for name, n in (("four", 140), ("two", 90)):
            writer.writerows(subjects(rng, name, n, VISITS[name]))


if __name__ == "__main__":
    main()
