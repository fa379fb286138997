"""The plan's ``[mmrm]`` table: which outcomes and visits the mixed model fits, and how.

::

    [mmrm]
    outcomes = ["madrs", "phq9", "hamd"]              # default: every [[outcomes]] scale
    visits = ["week_8_arm_1", "week_16_arm_1"]        # default: the follow-up visits
    covariance = "select"                             # or one structure by name
    candidates = ["unstructured", "heterogeneous-cs", "cs", "ar1", "heterogeneous-ar1"]
    df = "satterthwaite"                              # or "kenward-roger"
    baseline_by_visit = false                         # true adds baseline:visit

``select`` fits every candidate and keeps the lowest BIC among those that converge. A
plan without ``[mmrm]`` gets these defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.analysis.mmrm_covariance import STRUCTURES
from registry.analysis.toml_table import TomlTable

DF_METHODS = ("satterthwaite", "kenward-roger")


@dataclass(frozen=True)
class MmrmPlan:
    """The validated ``[mmrm]`` table."""

    outcomes: tuple[str, ...]
    visits: tuple[str, ...]
    covariance: str  # "select" or a structure name
    candidates: tuple[str, ...]
    df: str
    baseline_by_visit: bool = False

    @property
    def structures(self) -> tuple[str, ...]:
        """The structures to fit: every candidate when selecting, else the one named."""
        return self.candidates if self.covariance == "select" else (self.covariance,)


def _names(t: TomlTable, key: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    values = t.get(key, list, list(allowed))
    if not values:
        t.fail(key, f"`{key}` is empty", f"list one or more of {', '.join(allowed)}, or remove `{key}`")
    for value in values:
        if value not in allowed:
            t.fail(key, f"{value!r} in `{key}` is not {what}", f"list names from {', '.join(map(repr, allowed))}")
    if len(set(values)) != len(values):
        t.fail(key, f"`{key}` lists a name twice", "list each name once")
    return tuple(values)


def read_mmrm(t: TomlTable, scales: tuple[str, ...], followup: tuple[str, ...]) -> MmrmPlan:
    """Read ``[mmrm]`` (``t`` may be an empty table: every default)."""
    outcomes = _names(t, "outcomes", scales, "one of the plan's [[outcomes]] scales")
    visits = _names(t, "visits", followup, "one of the plan's follow-up visits")
    visits = tuple(v for v in followup if v in visits)  # plan order
    covariance = t.get("covariance", str, "select", choices=("select", *STRUCTURES))
    candidates = _names(t, "candidates", STRUCTURES, "a covariance structure")
    df = t.get("df", str, "satterthwaite", choices=DF_METHODS)
    baseline_by_visit = t.get("baseline_by_visit", bool, False)
    t.done()
    return MmrmPlan(outcomes, visits, covariance, candidates, df, baseline_by_visit)
