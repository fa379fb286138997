"""The analysis plan: a TOML file read into a frozen :class:`AnalysisPlan`.

The plan is the prespecification: population, outcomes and visits, sidedness, alpha,
multiplicity, response and remission definitions, the paired-rate (McNemar) comparisons,
the relapse rule, the Cox model and the mixed model for repeated measures.
Every key is checked; an unknown or malformed key raises :class:`PlanError` naming the
file, the key and the fix. The plan's identity is the SHA-256 of the file's bytes.

Examples
--------
>>> plan = read_plan(default_plan_path())
>>> [o.scale for o in plan.outcomes]
['madrs', 'phq9', 'hamd']
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

from registry import resources
from registry.analysis.baseline_table import read_baseline_entries
from registry.analysis.disposition import read_disposition
from registry.analysis.exposure import read_exposure
from registry.analysis.mmrm_plan import MmrmPlan, read_mmrm
from registry.analysis.outcomes_plan import Outcome, RateComparison, read_mcnemar, read_outcome
from registry.analysis.report_plan import read_report
from registry.analysis.safety import read_adverse_events
from registry.analysis.toml_table import NAME_RE, TomlTable, probability
from registry.errors import PlanError

MULTIPLICITY = ("holm", "bonferroni", "none")
FAMILIES = ("all", "per_cohort", "per_outcome", "per_visit")
AT_RISK = ("responders", "remitters", "all")  # [relapse] at_risk
ORIGINS = ("onset", "day0")  # [relapse] origin
SAME_DAY = ("last_instance", "first_instance", "mean")  # [ratings] same_day


@dataclass(frozen=True)
class FieldRef:
    """A REDCap field on a form (``value`` when the field must equal a code)."""

    form: str
    field: str
    value: int | None = None


@dataclass(frozen=True)
class RatingSource:
    """A source of relapse-scale ratings: score and study-day columns of a form."""

    name: str
    form: str
    score: str
    day: str


@dataclass(frozen=True)
class RelapseRule:
    """Confirmed-worsening relapse rule, clinician events and censoring."""

    scale: str
    comparison: str
    threshold: float
    consecutive: int
    min_gap_days: int
    max_gap_days: int
    event_dated_on: str  # "first" | "last"
    origin_day: int
    ratings: tuple[RatingSource, ...]
    clinician: FieldRef
    clinician_day: str
    censoring_rule: str
    last_contact_form: str
    last_contact_day: str
    at_risk: str = "responders"  # "responders" | "remitters" | "all"
    origin: str = "onset"  # "onset" | "day0"


@dataclass(frozen=True)
class Demographics:
    """Where ADSL's demographics live: the plan's optional ``[adsl]`` table (default: the
    registry project's names). ``race`` is a checkbox, radio or dropdown field."""

    form: str = "demographics"
    age: str = "dem_age"
    sex: str = "dem_sex"
    race: str = "dem_race"
    ethnicity: str = "dem_ethnicity"


@dataclass(frozen=True)
class AnalysisPlan:
    """A validated analysis plan. ``sha256`` is the hash of the file's bytes."""

    path: Path
    sha256: str
    title: str
    version: str
    population_name: str
    include: FieldRef
    cohort: FieldRef
    eligible: tuple[FieldRef, ...]
    cohorts: tuple[tuple[int, str], ...]
    baseline_visit: str
    followup_visits: tuple[str, ...]
    visit_labels: tuple[tuple[str, str], ...]
    visit_days: tuple[tuple[str, int], ...]
    alpha: float
    confidence: float
    multiplicity: str
    family: str
    outcomes: tuple[Outcome, ...]
    response_min_reduction_percent: float
    relapse: RelapseRule
    cox_compare: int
    cox_reference: int
    cox_ties: str
    cox_covariates: tuple[FieldRef, ...]
    power_target: float
    mcnemar: tuple[RateComparison, ...] = ()
    mmrm: MmrmPlan | None = None
    demographics: Demographics = Demographics()
    max_trajectories: int = 200
    cox_adjust_baseline: bool = False  # [cox] adjust_baseline: also fit `cox_adjusted`
    adverse_events: object = None  # [adverse_events] (registry.analysis.safety.AdverseEventFields)
    baseline: tuple = ()  # [[baseline]]: Table 1 variables (registry.analysis.baseline_table)
    same_day: str = "last_instance"  # [ratings] same_day: one source's ratings on one day
    visit_windows: tuple[tuple[str, int, int], ...] = ()  # [visits.windows]: (visit, first day, last day)
    exposure: object = None  # [exposure] (registry.analysis.exposure.ExposureFields)
    disposition: object = None  # [disposition] (registry.analysis.disposition.DispositionFields)

    def outcome(self, scale: str) -> Outcome:
        """Return the outcome named ``scale``."""
        return next(o for o in self.outcomes if o.scale == scale)

    def cohort_label(self, code: int) -> str:
        """Label of a cohort code (the code itself if the plan has no label)."""
        return dict(self.cohorts).get(code, str(code))

    def visit_label(self, visit: str) -> str:
        """Label of a unique event name (the name itself if the plan has no label)."""
        return dict(self.visit_labels).get(visit, visit)


def default_plan_path() -> Path:
    """``schemas/analysis_plan.toml`` of the working directory, else the one the package ships."""
    local = Path("schemas/analysis_plan.toml")
    return local if local.is_file() else resources.default_plan_path()


def _field_ref(t: TomlTable, *, with_value: bool) -> FieldRef:
    ref = FieldRef(t.name_("form"), t.name_("field"), t.get("value", int) if with_value else None)
    t.done()
    return ref


def _relapse(t: TomlTable, scales: set[str]) -> RelapseRule:
    scale = t.name_("scale")
    if scale not in scales:
        t.fail(
            "scale",
            f"relapse scale `{scale}` is not one of the outcomes",
            f"use one of {', '.join(sorted(scales))}",
        )
    raw_sources = t.get("ratings", list)
    if not raw_sources:
        t.fail("ratings", "no rating sources", "add at least one [[relapse.ratings]] table")
    sources = []
    for i, raw in enumerate(raw_sources):
        s = TomlTable(t.path, f"relapse.ratings[{i}]", raw)
        sources.append(RatingSource(s.name_("name"), s.name_("form"), s.name_("score"), s.name_("day")))
        s.done()
    consecutive = t.get("consecutive", int)
    lo, hi = t.get("min_gap_days", int), t.get("max_gap_days", int)
    if consecutive < 1:
        t.fail("consecutive", "`consecutive` must be at least 1", "set `consecutive = 2`")
    if not 0 <= lo <= hi:
        t.fail(
            "min_gap_days",
            f"gap window {lo}..{hi} days is empty or negative",
            "set 0 <= min_gap_days <= max_gap_days, e.g. 5 and 15",
        )
    clin = t.table("clinician")
    clinician = FieldRef(clin.name_("form"), clin.name_("field"), clin.get("value", int))
    clinician_day = clin.name_("day")
    clin.done()
    cens = t.table("censoring")
    rule = cens.get("rule", str, choices=("later of last assessment and last contact",))
    contact = cens.table("last_contact")
    contact_form, contact_day = contact.name_("form"), contact.name_("day")
    contact.done()
    cens.done()
    rule_ = RelapseRule(
        scale,
        t.get("comparison", str, choices=(">=", ">")),
        float(t.get("threshold", (int, float))),
        consecutive,
        lo,
        hi,
        t.get("event_dated_on", str, "first", choices=("first", "last")),
        t.get("origin_day", int, 0),
        tuple(sources),
        clinician,
        clinician_day,
        rule,
        contact_form,
        contact_day,
        t.get("at_risk", str, "responders", choices=AT_RISK),
        t.get("origin", str, "onset", choices=ORIGINS),
    )
    if rule_.at_risk == "all" and rule_.origin == "onset":
        t.fail(
            "origin",
            'with `at_risk = "all"` there is no onset to count time from',
            'set `origin = "day0"`, or `at_risk = "responders"` (or "remitters")',
        )
    t.done()
    return rule_


def read_windows(t: TomlTable, visits: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    """``[visits.windows]``: per visit, ``[first, last]`` study day (inclusive) of its window."""
    out = []
    for visit in list(t.data):
        bounds = t.get(visit, list)
        if visit not in visits:
            t.fail(visit, f"`{visit}` is not the baseline or a follow-up visit", f"use one of {', '.join(visits)}")
        if len(bounds) != 2 or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            t.fail(visit, f"window {bounds!r} is not [first day, last day]", f"write e.g. `{visit} = [42, 70]`")
        if bounds[0] > bounds[1]:
            t.fail(visit, f"window {bounds!r} ends before it starts", "write [first day, last day], first <= last")
        out.append((visit, bounds[0], bounds[1]))
    t.done()
    return tuple(out)


def _optional(top: TomlTable, key: str, reader):
    """``reader`` applied to the table ``key``, or None when the plan has no such table."""
    return reader(top.table(key)) if key in top.data else None


def read_plan(path: str | Path) -> AnalysisPlan:
    """Read and validate an analysis plan.

    Parameters
    ----------
    path : str or Path
        The TOML file.

    Returns
    -------
    AnalysisPlan
        Frozen; ``sha256`` is the hash of the file's bytes.

    Raises
    ------
    PlanError
        The file is missing, not TOML, or a key is missing, unknown or malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise PlanError(
            f"analysis plan {path} not found",
            where=str(path),
            fix="pass --plan FILE, or run from the toolkit folder (schemas/analysis_plan.toml)",
        )
    raw_bytes = path.read_bytes()
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PlanError(
            f"analysis plan is not valid TOML: {exc}",
            where=str(path),
            fix="fix the syntax (https://toml.io); compare with schemas/analysis_plan.toml",
        ) from exc
    if not data:
        raise PlanError(
            "the analysis plan is empty: every table is commented out (a template to fill in)",
            where=str(path),
            fix="uncomment its tables and put this project's fields and events in them, then lock it",
        )
    top = TomlTable(path, "", data)
    meta = top.table("plan")
    title, version = meta.get("title", str), str(meta.get("version", (str, int, float)))
    meta.done()

    pop = top.table("population")
    pop_name = pop.get("name", str)
    include = _field_ref(pop.table("include"), with_value=True)
    cohort = _field_ref(pop.table("cohort"), with_value=False)
    eligible = tuple(
        _field_ref(TomlTable(path, f"population.eligible[{i}]", e), with_value=True)
        for i, e in enumerate(pop.get("eligible", list, []))
    )
    coh = pop.table("cohorts")
    cohorts = []
    for key in list(coh.data):
        if not key.lstrip("-").isdigit():
            coh.fail(key, f"cohort code `{key}` is not an integer", 'use the REDCap code, e.g. `1 = "..."`')
        cohorts.append((int(key), coh.get(key, str)))
    coh.done()
    pop.done()

    vis = top.table("visits")
    baseline = vis.name_("baseline")
    followup = tuple(vis.get("followup", list))
    for v in followup:
        if not isinstance(v, str) or not NAME_RE.match(v) or v == baseline:
            vis.fail(
                "followup",
                f"follow-up visit {v!r} is not a unique event name other than baseline",
                'list REDCap unique event names, e.g. ["week_8_arm_1"]',
            )
    labels = vis.table("labels", {})
    visit_labels = tuple((k, labels.get(k, str)) for k in list(labels.data))
    labels.done()
    days = vis.table("days", {})
    visit_days = tuple((k, days.get(k, int)) for k in list(days.data))
    days.done()
    visit_windows = read_windows(vis.table("windows", {}), (baseline, *followup))
    vis.done()

    tests = top.table("tests")
    alpha = probability(tests, "alpha")
    confidence = probability(tests, "confidence", 0.95)
    multiplicity = tests.get("multiplicity", str, "holm", choices=MULTIPLICITY)
    family = tests.get("family", str, "all", choices=FAMILIES)
    tests.done()

    raw_outcomes = top.get("outcomes", list)
    outcomes = tuple(read_outcome(TomlTable(path, f"outcomes[{i}]", o)) for i, o in enumerate(raw_outcomes))
    scales = [o.scale for o in outcomes]
    if not outcomes or len(set(scales)) != len(scales):
        top.fail("outcomes", "outcomes are empty or repeat a scale", "give each [[outcomes]] its own `scale`")

    resp = top.table("response")
    min_reduction = float(resp.get("min_reduction_percent", (int, float)))
    if not 0 < min_reduction <= 100:
        resp.fail(
            "min_reduction_percent",
            f"{min_reduction} is not a percentage in (0, 100]",
            "set `min_reduction_percent = 50`",
        )
    resp.done()

    mcnemar: list[RateComparison] = []
    for i, raw in enumerate(top.get("mcnemar", list, [])):
        entry = TomlTable(path, f"mcnemar[{i}]", raw)
        for comp in read_mcnemar(entry, scales, followup):
            pair = {comp.visit_a, comp.visit_b}
            if any((c.scale, c.kind, {c.visit_a, c.visit_b}) == (comp.scale, comp.kind, pair) for c in mcnemar):
                entry.fail(
                    "visit_a",
                    f"{comp.kind} on {comp.scale} at {comp.visit_a} vs {comp.visit_b} is already compared "
                    "by an earlier [[mcnemar]] table",
                    "list each comparison once",
                )
            mcnemar.append(comp)

    relapse = _relapse(top.table("relapse"), set(scales))
    ratings = top.table("ratings", {})
    same_day = ratings.get("same_day", str, "last_instance", choices=SAME_DAY)
    ratings.done()

    cox = top.table("cox")
    codes = [c for c, _ in cohorts]
    compare = cox.get("compare", int, choices=tuple(codes))
    reference = cox.get("reference", int, choices=tuple(c for c in codes if c != compare))
    ties = cox.get("ties", str, "efron", choices=("efron",))
    covariates = []
    for cov in cox.get("covariates", list, []):
        parts = cov.split(".") if isinstance(cov, str) else []
        if len(parts) != 2 or not all(NAME_RE.match(p) for p in parts):
            cox.fail("covariates", f"covariate {cov!r} is not `form.field`", 'write e.g. "demographics.dem_age"')
        covariates.append(FieldRef(parts[0], parts[1]))
    adjust_baseline = cox.get("adjust_baseline", bool, False)
    cox.done()

    power = top.table("power")
    target = probability(power, "target", 0.8)
    power.done()
    mmrm = read_mmrm(top.table("mmrm", {}), tuple(scales), followup)
    adsl = top.table("adsl", {})
    demographics = Demographics(**{k: adsl.name_(k) for k in Demographics.__dataclass_fields__ if k in adsl.data})
    adsl.done()
    max_trajectories = read_report(top.table("report", {}))
    baseline_vars = read_baseline_entries(top.get("baseline", list, []), TomlTable, path)
    ae_fields = _optional(top, "adverse_events", read_adverse_events)
    exposure = _optional(top, "exposure", read_exposure)
    disposition = _optional(top, "disposition", read_disposition)
    top.done()
    return AnalysisPlan(
        path=path,
        sha256=hashlib.sha256(raw_bytes).hexdigest(),
        title=title,
        version=version,
        population_name=pop_name,
        include=include,
        cohort=cohort,
        eligible=eligible,
        cohorts=tuple(cohorts),
        baseline_visit=baseline,
        followup_visits=followup,
        visit_labels=visit_labels,
        visit_days=visit_days,
        visit_windows=visit_windows,
        same_day=same_day,
        alpha=alpha,
        confidence=confidence,
        multiplicity=multiplicity,
        family=family,
        outcomes=outcomes,
        response_min_reduction_percent=min_reduction,
        relapse=relapse,
        cox_compare=compare,
        cox_reference=reference,
        cox_ties=ties,
        cox_covariates=tuple(covariates),
        power_target=target,
        mcnemar=tuple(mcnemar),
        mmrm=mmrm,
        demographics=demographics,
        max_trajectories=max_trajectories,
        cox_adjust_baseline=adjust_baseline,
        baseline=baseline_vars,
        adverse_events=ae_fields,
        exposure=exposure,
        disposition=disposition,
    )
