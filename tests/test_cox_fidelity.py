"""The Cox fit converges to R's: coef within 1e-8 of R survival 3.5-3 on generated data."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from registry.analysis.relapse import fit_cox

REF = Path(__file__).parent / "data" / "r_reference"


def reference() -> dict[int, tuple[float, float]]:
    """cox_reference.txt, from cox_reference.R:
    coxph(Surv(days, event) ~ compare, ties = "efron"), compare = cohort 1 vs 2."""
    out = {}
    for line in (REF / "cox_reference.txt").read_text().splitlines():
        if line[:1].isdigit():
            k, coef, se = line.split(",")
            out[int(k)] = (float(coef), float(se))
    return out


def datasets() -> dict[int, pd.DataFrame]:
    with open(REF / "cox_data.csv", newline="") as fh:
        data = pd.DataFrame(list(csv.DictReader(fh))).astype(int)
    data["record_id"] = [f"S{i}" for i in range(len(data))]
    return {k: g for k, g in data.groupby("dataset")}


@pytest.mark.parametrize("k", sorted(reference()))
def test_cox_coefficient_converges_to_r_coxph_within_1e_8(k):
    coef, se = reference()[k]
    fit = fit_cox(datasets()[k], 1, 2)
    assert fit["note"] is None
    assert fit["coef"] == pytest.approx(coef, abs=1e-8)
    assert fit["se"] == pytest.approx(se, abs=1e-8)
