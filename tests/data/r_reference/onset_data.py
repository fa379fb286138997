"""Write onset_data.csv: seeded synthetic MADRS ratings for the time-to-response reference
(tests/test_onset.py, onset_reference.R). One row per rating: record_id, cohort, baseline
(the baseline-visit MADRS total, empty for subjects without one), day, score.

Run once from the repository root:  python tests/data/r_reference/onset_data.py
"""

import csv
import random
from pathlib import Path

rng = random.Random(20261204)
rows = []
for i in range(48):
    cohort = 1 if i % 2 == 0 else 2
    rid = f"T{i:02d}"
    baseline = None if i in (5, 22) else rng.randint(24, 40)
    start = baseline or 30
    slope = rng.uniform(0.05, 0.35) if cohort == 1 else rng.uniform(0.02, 0.3)
    for day in range(7, rng.choice([42, 63, 84, 105]) + 1, 7):
        score = max(0, round(start * (1 - slope * day / 28) + rng.gauss(0, 3)))
        rows.append([rid, cohort, "" if baseline is None else baseline, day, score])
    if i == 9:  # a subject with a baseline but no rating after day 0
        rows = [r for r in rows if r[0] != rid]
        rows.append([rid, cohort, baseline, -3, 30])
with open(Path(__file__).with_name("onset_data.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["record_id", "cohort", "baseline", "day", "score"])
    w.writerows(rows)
