"""Write cox_data.csv: seeded synthetic survival data sets for the Cox convergence check
(tests/test_cox_fidelity.py, cox_reference.R). One row per subject: dataset, cohort (1 or 2),
days (integer, with ties), event (0/1).

Run once from the repository root:  python tests/data/r_reference/cox_data.py
"""

import csv
import random
from pathlib import Path

rng = random.Random(20261204)
rows = []
for dataset in range(1, 7):
    n = rng.choice([12, 20, 35, 60])
    hazard = {1: rng.uniform(0.005, 0.03), 2: rng.uniform(0.005, 0.03)}
    for i in range(n):
        cohort = 1 if i % 2 == 0 else 2
        days = max(1, round(rng.expovariate(hazard[cohort]) / 7) * 7)  # weekly: many ties
        censor = rng.choice([84, 126, 182, 365])
        rows.append([dataset, cohort, min(days, censor), int(days <= censor)])
with open(Path(__file__).with_name("cox_data.csv"), "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["dataset", "cohort", "days", "event"])
    w.writerows(rows)
