"""Test helper: small registry files with the documented layout (docs/registry_layout.md).

Builds ``batch_1.<form>`` tables with the typed columns of the registry's project (dates
as INTEGER study days), ``main.<form>`` views, ``registry.batches`` and, optionally, a
``registry.validation_runs`` row, without running the ingest. Subjects are described by
:class:`Subject`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

FORMS = {
    "demographics": {
        "dem_cohort": "INTEGER",
        "dem_age": "BIGINT",
        "dem_index_date": "INTEGER",
        "dem_sex": "INTEGER",
        "dem_ethnicity": "INTEGER",
        "dem_esk_start_date": "INTEGER",
        "dem_tx_failures": "BIGINT",
        **{f"dem_race___{c}": "BOOLEAN" for c in (1, 2, 3, 4, 5, 6, 99)},
        **{f"dem_concomitant___{c}": "BOOLEAN" for c in range(1, 14)},
    },
    "eligibility": {
        "elig_mde": "INTEGER",
        "elig_trd": "INTEGER",
        "elig_no_remission": "INTEGER",
        "elig_included": "INTEGER",
    },
    "madrs": {"madrs_date": "INTEGER", "madrs_total": "DOUBLE"},
    "phq9": {"phq9_date": "INTEGER", "phq9_total": "DOUBLE"},
    "hamd": {"hamd_date": "INTEGER", "hamd_total": "DOUBLE"},
    "esketamine_session": {
        "esk_date": "INTEGER",
        "esk_dose_mg": "INTEGER",
        "esk_sirolimus": "INTEGER",
        "esk_madrs_total": "BIGINT",
        "esk_phq9_total": "BIGINT",
    },
    "sirolimus_dose": {
        "sir_date": "INTEGER",
        "sir_dose_mg": "DOUBLE",
        "sir_hours_before": "DOUBLE",
        "sir_taken": "BIGINT",
    },
    "adverse_event": {
        "ae_date": "INTEGER",
        "ae_term": "VARCHAR",
        "ae_severity": "INTEGER",
        "ae_serious": "INTEGER",
        "ae_related": "INTEGER",
    },
    "disposition": {
        "disp_last_date": "INTEGER",
        "disp_status": "INTEGER",
        "disp_reason": "VARCHAR",
        "relapse_event": "INTEGER",
        "relapse_date": "INTEGER",
    },
}
KEYS = {
    "record_id": "VARCHAR",
    "redcap_event_name": "VARCHAR",
    "redcap_repeat_instance": "INTEGER",
    "redcap_data_access_group": "VARCHAR",
}


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open a registry file under a fixed catalog name (a file named registry.duckdb would
    otherwise clash with the schema ``registry``), as registry.store does."""
    con = duckdb.connect()
    con.execute("attach $p as fixture", {"p": str(path)})
    con.execute("use fixture")
    return con


VISIT_DAYS = {"baseline_arm_1": 0, "week_8_arm_1": 56, "week_16_arm_1": 112}


@dataclass
class Subject:
    """One record. ``scores``: visit -> {scale: total}; ``sessions``: (day, MADRS or None)."""

    record_id: str
    cohort: int = 1
    included: int = 1
    eligible: int = 1
    scores: dict = field(default_factory=dict)
    sessions: list = field(default_factory=list)
    last_day: int | None = 120
    relapse_day: int | None = None  # clinician-documented relapse
    visit_days: dict = field(default_factory=dict)  # visit -> study day, if not the nominal one
    doses: list = field(default_factory=list)  # sirolimus: (day, mg, hours before, taken)
    session_doses: list = field(default_factory=list)  # esketamine mg per session (default 84)
    status: int | None = 1  # disposition status
    reason: str | None = None  # disposition reason (free text)


def rows_for(subjects: list[Subject]) -> dict[str, list[dict]]:
    """Form rows (key columns plus fields) for the subjects."""
    rows = {form: [] for form in FORMS}
    for s in subjects:
        base = {
            "record_id": s.record_id,
            "redcap_event_name": "baseline_arm_1",
            "redcap_repeat_instance": None,
        }
        rows["demographics"].append({**base, "dem_cohort": s.cohort, "dem_age": 50, "dem_index_date": 0})
        rows["eligibility"].append(
            {
                **base,
                "elig_mde": s.eligible,
                "elig_trd": 1,
                "elig_no_remission": 1,
                "elig_included": s.included,
            }
        )
        for visit, scales in s.scores.items():
            for scale, total in scales.items():
                rows[scale].append(
                    {
                        "record_id": s.record_id,
                        "redcap_event_name": visit,
                        "redcap_repeat_instance": None,
                        f"{scale}_date": s.visit_days.get(visit, VISIT_DAYS[visit]),
                        f"{scale}_total": total,
                    }
                )
        for i, (day, madrs) in enumerate(s.sessions, start=1):
            rows["esketamine_session"].append(
                {
                    "record_id": s.record_id,
                    "redcap_event_name": "treatment_log_arm_1",
                    "redcap_repeat_instance": i,
                    "esk_date": day,
                    "esk_dose_mg": s.session_doses[i - 1] if s.session_doses else 84,
                    "esk_sirolimus": int(s.cohort == 1),
                    "esk_madrs_total": madrs,
                }
            )
        for i, (day, mg, hours, taken) in enumerate(s.doses, start=1):
            rows["sirolimus_dose"].append(
                {
                    "record_id": s.record_id,
                    "redcap_event_name": "treatment_log_arm_1",
                    "redcap_repeat_instance": i,
                    "sir_date": day,
                    "sir_dose_mg": mg,
                    "sir_hours_before": hours,
                    "sir_taken": taken,
                }
            )
        rows["disposition"].append(
            {
                "record_id": s.record_id,
                "redcap_event_name": "study_end_arm_1",
                "redcap_repeat_instance": None,
                "disp_last_date": s.last_day,
                "disp_status": s.status,
                "disp_reason": s.reason,
                "relapse_event": int(s.relapse_day is not None),
                "relapse_date": s.relapse_day,
            }
        )
    return rows


def build_registry(
    path: Path,
    subjects: list[Subject],
    *,
    gate: bool | None = True,
    ingested_at: datetime = datetime(2026, 1, 10, 9, 0, 0),
    source_sha256: str = "ab" * 32,
) -> Path:
    """Write a one-batch registry of ``subjects``; ``gate``: None = never validated."""
    con = connect(path)
    con.execute("create schema batch_1; create schema if not exists registry")
    con.execute(
        "create table batch_1._records (record_id varchar, redcap_data_access_group varchar, "
        "redcap_survey_identifier varchar)"
    )
    con.executemany("insert into batch_1._records values (?, null, null)", [[s.record_id] for s in subjects])
    for form, data in rows_for(subjects).items():
        cols = {**KEYS, **FORMS[form], f"{form}_complete": "INTEGER"}
        con.execute(f"create table batch_1.{form} ({', '.join(f'{c} {t}' for c, t in cols.items())})")
        if data:
            names = list(cols)
            con.executemany(
                f"insert into batch_1.{form} values ({', '.join('?' for _ in names)})",
                [[r.get(c, 2 if c.endswith("_complete") else None) for c in names] for r in data],
            )
    for form in [*FORMS, "_records"]:
        con.execute(f"create view main.{form} as select * from batch_1.{form}")
    con.execute(
        "create table if not exists registry.batches (batch_id integer, file_name varchar, "
        "source_sha256 varchar, dictionary_sha256 varchar, records bigint, ingested_at timestamp, "
        "is_current boolean)"
    )
    con.execute(
        "insert into registry.batches (batch_id, file_name, source_sha256, dictionary_sha256, records, "
        "ingested_at, is_current) values (1, 'export.csv', ?, 'cd', ?, ?, true)",
        [source_sha256, len(subjects), ingested_at],
    )
    con.execute(
        "create table if not exists registry.validation_runs (batch_id integer, run_at timestamp, "
        "passed boolean, n_errors integer, n_warnings integer)"
    )
    if gate is not None:
        con.execute(
            "insert into registry.validation_runs values (1, ?, ?, ?, 2)",
            [ingested_at.replace(hour=10), gate, 0 if gate else 3],
        )
    con.close()
    return path


def add_validation_run(path: Path, passed: bool, run_at: datetime) -> None:
    """Append a gate run for batch 1."""
    con = connect(path)
    con.execute("insert into registry.validation_runs values (1, ?, ?, ?, 0)", [run_at, passed, 0 if passed else 1])
    con.close()


# R reference data (tests/data/r_reference/reference.R): MADRS at baseline and week 8.
BASE1 = [32, 28, 35, 30, 26, 33, 29, 31, 27, 34]
WK8_1 = [20, 25, 18, 30, 22, 15, 27, 19, 24, 21]
BASE2 = [30, 25, 31, 28, 33, 27, 29, 26]
WK8_2 = [31, 27, 30, 33, 34, 25, 32, 30]
# (days, event) per cohort, as in reference.R's survival data.
SURV1 = list(
    zip([12, 20, 20, 35, 42, 56, 60, 75, 90, 112, 120, 130], [1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0], strict=True)
)
SURV2 = list(zip([8, 15, 20, 20, 28, 30, 41, 56, 70, 84, 100, 126], [1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0], strict=True))


SWAPS = {1: ((2, 10), (4, 11)), 2: ((3, 10),)}  # (index, index) of SURV1 / SURV2 exchanged


def reference_subjects() -> list[Subject]:
    """Subjects whose MADRS pairs and relapse times are the R reference data.

    Cohort 1: 12 subjects, the first 10 with MADRS baseline/week 8 pairs (the other two
    miss week 8); cohort 2: 12 subjects, 8 pairs (one more misses baseline). Relapses are
    clinician-documented at the reference times; censored subjects' last contact is their
    reference time (and no visit after it). Week-8 totals are on day 56, inside the window,
    so the reference times are assigned (:data:`SWAPS`) so that no subject censored before
    day 56 has one. One excluded (not per-protocol) subject in each cohort.
    """
    subjects = []
    for cohort, base, wk8, surv in ((1, BASE1, WK8_1, SURV1), (2, BASE2, WK8_2, SURV2)):
        surv = list(surv)
        # the subjects with a week-8 total (in its window, day 56) are followed past day 56
        # or relapse: the times censored before day 56 go to subjects without one
        for a, b in SWAPS[cohort]:
            surv[a], surv[b] = surv[b], surv[a]
        for i, (days, event) in enumerate(surv):
            scores = {}
            if i < len(base):
                scores = {"baseline_arm_1": {"madrs": base[i]}, "week_8_arm_1": {"madrs": wk8[i]}}
            elif cohort == 2 and i == len(base):
                scores = {"week_8_arm_1": {"madrs": 20}}
            else:
                scores = {"baseline_arm_1": {"madrs": 30}}
            subjects.append(
                Subject(
                    f"C{cohort}-{i + 1:02d}",
                    cohort,
                    scores=scores,
                    last_day=days if not event else 130,
                    relapse_day=days if event else None,
                )
            )
        subjects.append(
            Subject(
                f"C{cohort}-X",
                cohort,
                included=0,
                scores={"baseline_arm_1": {"madrs": 40}, "week_8_arm_1": {"madrs": 2}},
                relapse_day=3,
            )
        )
    return subjects


def plan_variant(directory: Path, *replacements: tuple[str, str], name: str = "plan.toml") -> Path:
    """A copy of the default plan with text replacements (each must match)."""
    from registry.analysis.plan import default_plan_path

    text = default_plan_path().read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# the plan's relapse analysis of everyone from day 0 (the analysis before relapse among responders)
DAY0 = (('at_risk = "responders"', 'at_risk = "all"'), ('origin = "onset"', 'origin = "day0"'))


def day0_plan(directory: Path, *replacements: tuple[str, str], name: str = "plan.toml") -> Path:
    """The default plan with ``[relapse] at_risk = "all"``, ``origin = "day0"`` (and ``replacements``)."""
    return plan_variant(directory, *DAY0, *replacements, name=name)


def run_steps(db: Path, plan_path: Path | None = None):
    """Stage and derive on a fixture registry: (plan, connection) with _subjects built."""
    from registry.analysis.plan import default_plan_path, read_plan
    from registry.analysis.population import derive_subjects
    from registry.analysis.stage import open_registry, stage_plan_data

    plan = read_plan(plan_path or default_plan_path())
    con = open_registry(db)
    stage_plan_data(con, plan)
    derive_subjects(con, plan)
    return plan, con
