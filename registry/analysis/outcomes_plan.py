"""The plan's ``[[outcomes]]`` and ``[[mcnemar]]`` tables: the scale totals, their sidedness
and remission rules, and the paired-rate (McNemar) comparisons of two follow-up visits.

::

    [[outcomes]]
    scale = "madrs"; label = "MADRS"; form = "madrs"; field = "madrs_total"; day = "madrs_date"
    sided = "two-sided"            # or "one-sided" with direction and one_sided_alpha
    remission = { comparison = "<", threshold = 10 }

    [[mcnemar]]
    visit_a = "week_8_arm_1"; visit_b = "week_16_arm_1"; kinds = ["response", "remission"]
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.analysis.toml_table import TomlTable

COMPARISONS = ("<", "<=", ">", ">=")
RATE_KINDS = ("response", "remission")


@dataclass(frozen=True)
class Outcome:
    """One scale total: where it lives, its sidedness and its remission rule."""

    scale: str
    label: str
    form: str
    field: str
    sided: str  # "two-sided" | "one-sided"
    direction: str | None  # "decrease" | "increase" when one-sided
    one_sided_alpha: float | None
    remission_comparison: str
    remission_threshold: float
    day: str | None = None  # the form's study-day field: checked against the visit windows


@dataclass(frozen=True)
class RateComparison:
    """Two visits' response (or remission) rates in the same subjects, compared by McNemar's
    test in every cohort. ``visit_a`` and ``visit_b`` are in the order the plan gives them."""

    scale: str
    kind: str  # "response" | "remission"
    visit_a: str
    visit_b: str


def read_outcome(t: TomlTable) -> Outcome:
    sided = t.get("sided", str, "two-sided", choices=("two-sided", "one-sided"))
    direction = t.get("direction", str, None, choices=("decrease", "increase"))
    one_alpha = t.get("one_sided_alpha", (int, float), None)
    if sided == "one-sided" and (direction is None or one_alpha is None):
        t.fail(
            "sided",
            "a one-sided test needs a declared `direction` and `one_sided_alpha`",
            'add `direction = "decrease"` and `one_sided_alpha = 0.025`, or use `sided = "two-sided"`',
        )
    if sided == "two-sided" and (direction is not None or one_alpha is not None):
        t.fail(
            "direction",
            "`direction`/`one_sided_alpha` given for a two-sided outcome",
            'set `sided = "one-sided"` or remove them',
        )
    if one_alpha is not None and not 0 < one_alpha < 1:
        t.fail(
            "one_sided_alpha",
            f"`one_sided_alpha` = {one_alpha} is not between 0 and 1",
            "set it to e.g. 0.025 (ICH E9)",
        )
    rem = t.table("remission")
    comparison = rem.get("comparison", str, choices=COMPARISONS)
    threshold = float(rem.get("threshold", (int, float)))
    rem.done()
    out = Outcome(
        t.name_("scale"),
        t.get("label", str),
        t.name_("form"),
        t.name_("field"),
        sided,
        direction,
        None if one_alpha is None else float(one_alpha),
        comparison,
        threshold,
        t.name_("day", None),
    )
    t.done()
    return out


def read_mcnemar(t: TomlTable, scales: list[str], followup: tuple[str, ...]) -> list[RateComparison]:
    """One ``[[mcnemar]]`` table: two follow-up visits, the kinds and (optionally) the scales."""
    visits = []
    for key in ("visit_a", "visit_b"):
        visit = t.name_(key)
        if visit not in followup:
            t.fail(
                key,
                f"`{key}` = {visit!r} is not one of the plan's follow-up visits",
                f"use one of {', '.join(followup)} (the [visits] followup list)",
            )
        visits.append(visit)
    if visits[0] == visits[1]:
        t.fail("visit_b", "`visit_a` and `visit_b` are the same visit", "compare two different follow-up visits")
    kinds = unique_names(t, "kinds", RATE_KINDS, RATE_KINDS)
    chosen = unique_names(t, "scales", tuple(scales), tuple(scales))
    t.done()
    return [RateComparison(s, k, visits[0], visits[1]) for s in chosen for k in kinds]


def unique_names(t: TomlTable, key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    """A non-empty list of distinct names from ``allowed`` (``default`` when absent)."""
    values = t.get(key, list, list(default))
    if not values:
        t.fail(key, f"`{key}` is empty", f"list one or more of {', '.join(allowed)}, or remove `{key}`")
    for value in values:
        if value not in allowed:
            t.fail(
                key,
                f"{value!r} in `{key}` is not one of {', '.join(allowed)}",
                f"list names from {', '.join(map(repr, allowed))}",
            )
    if len(set(values)) != len(values):
        t.fail(key, f"`{key}` lists a name twice", "list each name once")
    return tuple(values)
