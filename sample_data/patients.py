"""Simulate the registry's patients as REDCap records: clean, plausible, fully synthetic.

Each record is a list of export rows (record x event, or one row per repeating-instrument
instance on the treatment log), holding raw REDCap values as strings. Day 0 is the index
treatment (``dem_index_date``); every date is the record's random base date plus a study day,
the way REDCap's de-identified export shifts a whole record by one constant.

The clinical picture: treatment-resistant depression on intranasal esketamine maintenance
(sessions every 7-14 days, some before day 0), baseline MADRS typical of TRD (~28-38), modest
improvement on maintenance with more responders in the sirolimus-augmented cohort, some
worsening, relapses seen in the session MADRS series and sometimes documented by the clinician,
dropouts, missed visits, a few adverse events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from registry.redcap.dictionary import checkbox_column
from sample_data.project import Layout, Scale

BASELINE = "baseline_arm_1"
WEEK_8 = "week_8_arm_1"
WEEK_16 = "week_16_arm_1"
TREATMENT_LOG = "treatment_log_arm_1"
STUDY_END = "study_end_arm_1"

FIRST_INDEX = date(2019, 6, 1).toordinal()  # esketamine nasal spray was approved in March 2019
LAST_INDEX = date(2025, 6, 30).toordinal()
EARLIEST_ESKETAMINE = date(2019, 3, 5).toordinal()

# Relative item severity in TRD (mean 1 over the summed items after normalisation).
ITEM_WEIGHTS = {
    "madrs": (1.15, 1.2, 1.0, 1.0, 0.75, 1.1, 1.15, 1.15, 1.0, 0.5),
    "phq9": (1.15, 1.2, 1.15, 1.25, 0.95, 1.05, 1.05, 0.7, 0.5, 1.0),
    "hamd": (1.3, 1.0, 0.5, 1.1, 1.1, 1.0, 1.3, 0.9, 0.8, 1.2, 1.0, 0.9, 1.1, 0.8, 0.8, 0.6, 0.3),
}
# Each scale's expected total as a multiple of the MADRS total, and the extra noise (SD).
FROM_MADRS = {"madrs": (1.0, 0.0), "phq9": (0.45, 2.0), "hamd": (0.68, 2.5)}

AE_TERMS = (
    ("Dissociation", 30), ("Nausea", 15), ("Dizziness", 15), ("Headache", 10),
    ("Elevated blood pressure", 10), ("Sedation", 8), ("Vomiting", 4), ("Anxiety", 4),
)
AE_TERMS_SIROLIMUS = (("Mouth ulcer", 6), ("Fatigue", 4))
AE_LIKELY_RELATED = {"Dissociation", "Nausea", "Dizziness", "Sedation", "Elevated blood pressure", "Vomiting"}
DROPOUT_REASONS = {
    "2": ("Moved care elsewhere", "Insurance coverage ended", "Transportation difficulties",
          "Patient preference", "Escalated to ECT", "Adverse effects", "Lack of efficacy",
          "Started a different treatment"),
    "3": ("No response to outreach", "Moved care elsewhere", "Stopped attending appointments"),
}


@cache
def iso(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


@dataclass
class Row:
    """One export row: raw values keyed by column (fields, checkbox columns, ``<form>_complete``)."""

    event: str
    form: str = ""  # the repeating instrument, blank on non-repeating rows
    instance: int | None = None
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class Record:
    record_id: str
    dag: str
    cohort: str
    day0: int  # ordinal of dem_index_date
    rows: list[Row]

    def date(self, day: int) -> str:
        return iso(self.day0 + day)

    def day(self, value: str) -> int:
        return date.fromisoformat(value).toordinal() - self.day0

    def find(self, event: str, form: str = "") -> list[Row]:
        return [r for r in self.rows if r.event == event and r.form == form]

    def first(self, event: str, form: str = "") -> Row | None:
        rows = self.find(event, form)
        return rows[0] if rows else None

    def add_instance(self, form: str, values: dict[str, str]) -> Row:
        """Append a repeating-instrument row with the next instance number, keeping export order."""
        same = self.find(TREATMENT_LOG, form)
        row = Row(TREATMENT_LOG, form, len(same) + 1, values)
        at = self.rows.index(same[-1]) + 1 if same else self._log_position(form)
        self.rows.insert(at, row)
        return row

    def _log_position(self, form: str) -> int:
        order = ("esketamine_session", "sirolimus_dose", "adverse_event")
        for i, r in enumerate(self.rows):
            after_log = r.event == STUDY_END
            later_form = r.event == TREATMENT_LOG and order.index(r.form) > order.index(form)
            if after_log or later_form:
                return i
        return len(self.rows)


@dataclass
class Course:
    """A patient's expected MADRS over study days."""

    baseline: float
    gain: float  # fraction of the baseline lost at plateau (negative: worsening)
    tau: float  # days to reach ~63% of the plateau
    relapse_day: int | None = None
    relapse_level: float = 0.0

    def expected(self, day: int) -> float:
        if day <= 0:
            level = self.baseline
        else:
            level = self.baseline * (1 - self.gain * (1 - math.exp(-day / self.tau)))
        if self.relapse_day is not None and day >= self.relapse_day:
            level = max(level, self.relapse_level)
        return level


def simulate_records(layout: Layout, patients: int, seed: int) -> list[Record]:
    """``patients`` clean records ``SIR-0001``... from one seeded stream (prefix-stable)."""
    return list(iter_records(layout, patients, seed))


def iter_records(layout: Layout, patients: int, seed: int) -> Iterator[Record]:
    """The records of :func:`simulate_records` one at a time (a 200,000-patient export
    would not fit in memory as a list)."""
    sim = _Simulator(layout, random.Random(seed))
    for i in range(1, patients + 1):
        yield sim.record(i)


def _weights(scale: Scale) -> tuple[float, ...]:
    raw = ITEM_WEIGHTS.get(scale.form, ())
    w = [raw[i] if i < len(raw) else 1.0 for i in range(len(scale.items))]
    summed = [(top, wi) for (name, top), wi in zip(scale.items, w, strict=True) if name in scale.summed]
    factor = sum(top for top, _ in summed) / sum(top * wi for top, wi in summed)
    return tuple(wi * factor for wi in w)


class _Simulator:
    def __init__(self, layout: Layout, rng: random.Random) -> None:
        self.layout = layout
        self.rng = rng
        self.scales = list(layout.scales.values())
        self.scale_weights = {s.form: _weights(s) for s in self.scales}
        self.dag_weights = [0.35, 0.25, 0.25, 0.15, 0.1, 0.1][: len(layout.dags)]

    # -- small draws -----------------------------------------------------------------------
    def status(self) -> str:
        u = self.rng.random()
        return "2" if u < 0.93 else "1" if u < 0.98 else "0"

    def pick(self, pairs) -> str:
        values, weights = zip(*pairs, strict=True)
        return str(self.rng.choices(values, weights)[0])

    def gap(self) -> int:
        return self.rng.randint(7, 14)

    def fill(self, start: int, stop: int) -> list[int]:
        """Session days strictly between start and stop, every 7-14 days."""
        length = stop - start
        counts = [k for k in range(1, length // 7 + 1) if 7 * k <= length <= 14 * k]
        k = self.rng.choice(counts)
        gaps = [7] * k
        for _ in range(length - 7 * k):
            open_ = [i for i, g in enumerate(gaps) if g < 14]
            gaps[self.rng.choice(open_)] += 1
        days, d = [], start
        for g in gaps[:-1]:
            d += g
            days.append(d)
        return days

    # -- one record ------------------------------------------------------------------------
    def record(self, number: int) -> Record:
        rng = self.rng
        cohort = "1" if rng.random() < 0.4 else "2"
        dag = rng.choices(self.layout.dags, self.dag_weights)[0]
        day0 = rng.randint(FIRST_INDEX, LAST_INDEX)
        rec = Record(f"SIR-{number:04d}", dag, cohort, day0, [])

        u = rng.random()
        if u < 0.12:
            disp_status, end = "2", rng.randint(21, 110)
        elif u < 0.18:
            disp_status, end = "3", rng.randint(30, 120)
        else:
            disp_status, end = "1", rng.randint(126, 182)

        # Sessions: back from day 0 into the maintenance phase, then forward to the last contact.
        lookback = rng.randint(14, 84)
        days = [0]
        while days[0] - 14 >= -lookback:
            days.insert(0, days[0] - self.gap())
        sirolimus_days: list[int] = []
        if cohort == "1":
            second = 28 + int(self.pick([(0, 70), (-1, 6), (1, 6), (-2, 5), (2, 5), (-3, 4), (3, 4)]))
            end = max(end, second + 7)
            days += self.fill(0, second) + [second]
            sirolimus_days = [0, second]
        while days[-1] + 14 <= end:
            days.append(days[-1] + self.gap())

        course = self.course(cohort, end)
        rec.rows.append(Row(BASELINE, values=self.baseline_values(rec, course, days[0])))
        for event, centre, lo, hi, miss in ((WEEK_8, 56, 42, 70, 0.08), (WEEK_16, 112, 98, 126, 0.10)):
            visit = min(hi, max(lo, centre + round(rng.gauss(0, 5))))
            if visit <= end and rng.random() >= miss:
                rec.rows.append(Row(event, values=self.visit_values(rec, course, visit)))

        dose = self.pick([("84", 50), ("56", 45), ("28", 5)])
        for i, d in enumerate(days, 1):
            rec.rows.append(Row(TREATMENT_LOG, "esketamine_session", i,
                                self.session_values(rec, course, d, dose, d in sirolimus_days)))
        for i, d in enumerate(sirolimus_days, 1):
            rec.rows.append(Row(TREATMENT_LOG, "sirolimus_dose", i, {
                "sir_date": rec.date(d), "sir_dose_mg": "6", "sir_hours_before": "2", "sir_taken": "1",
                "sirolimus_dose_complete": self.status(),
            }))
        n_ae = int(self.pick([(0, 65), (1, 20), (2, 10), (3, 5)]))
        for i, d in enumerate(sorted(rng.choice(days) for _ in range(n_ae)), 1):
            rec.rows.append(Row(TREATMENT_LOG, "adverse_event", i, self.ae_values(rec, d)))
        rec.rows.append(Row(STUDY_END, values=self.disposition_values(rec, course, disp_status, end)))
        return rec

    def course(self, cohort: str, end: int) -> Course:
        rng = self.rng
        baseline = min(48.0, max(22.0, rng.gauss(33, 4.5)))
        responder_share = 0.35 if cohort == "1" else 0.20
        u = rng.random()
        if u < responder_share:
            gain = rng.uniform(0.45, 0.75)
        elif u < responder_share + 0.12:
            gain = rng.uniform(-0.25, -0.05)
        else:
            gain = rng.uniform(0.0, 0.35)
        c = Course(baseline, gain, rng.uniform(4, 21))
        if gain >= 0.45 and rng.random() < 0.35:
            c.relapse_day = rng.randint(35, 160)
            c.relapse_level = max(25.0, baseline * rng.uniform(0.85, 1.05))
        return c

    def madrs(self, course: Course, day: int) -> float:
        return course.expected(day) + self.rng.gauss(0, 2.5)

    def rate(self, scale: Scale, madrs: float, when: str) -> dict[str, str]:
        rng = self.rng
        ratio, noise = FROM_MADRS.get(scale.form, (1.0, 0.0))
        target = ratio * madrs + (rng.gauss(0, noise) if noise else 0.0)
        severity = max(0.0, target) / sum(scale.top[n] for n in scale.summed)
        values = {scale.date_field: when}
        total = 0
        for (name, top), w in zip(scale.items, self.scale_weights[scale.form], strict=True):
            x = min(top, max(0, round(severity * top * w + rng.gauss(0, 0.55))))
            values[name] = str(x)
            if name in scale.summed:
                total += x
        values[scale.total_field] = str(total)
        values[f"{scale.form}_complete"] = self.status()
        return values

    def visit_values(self, rec: Record, course: Course, day: int) -> dict[str, str]:
        values: dict[str, str] = {}
        m = self.madrs(course, day)
        for scale in self.scales:
            values.update(self.rate(scale, m, rec.date(day)))
        if self.rng.random() < 0.03:  # HAM-D not done at this visit: the form stays empty
            for col in self.layout.form_columns.get("hamd", ()):
                values.pop(col, None)
        return values

    def baseline_values(self, rec: Record, course: Course, first_session: int) -> dict[str, str]:
        rng = self.rng
        lay = self.layout
        age = min(90, max(18, round(rng.gauss(46, 13))))
        if rng.random() < 0.003:
            age = 90  # 90 or older (Safe Harbor)
        gap = max(rng.randint(60, min(720, rec.day0 - EARLIEST_ESKETAMINE)), -first_session)
        mde, trd, no_rem = (self.pick([("1", p), ("0", 100 - p)]) for p in (97, 95, 93))
        included = "1" if mde == trd == no_rem == "1" and rng.random() > 0.03 else "0"
        failures = 2 + min(13, int(rng.expovariate(1 / 2.5))) if trd == "1" else rng.randint(0, 1)
        values = {
            "dem_cohort": rec.cohort, "dem_age": str(age),
            "dem_sex": self.pick([("1", 60), ("2", 38), ("3", 1), ("99", 1)]),
            "dem_ethnicity": self.pick([("1", 12), ("2", 83), ("99", 5)]),
            "dem_index_date": rec.date(0), "dem_esk_start_date": rec.date(-gap),
            "dem_tx_failures": str(failures), "demographics_complete": self.status(),
            "elig_mde": mde, "elig_trd": trd, "elig_no_remission": no_rem, "elig_included": included,
            "eligibility_complete": self.status(),
        }
        races = {self.pick([("5", 68), ("3", 12), ("2", 7), ("1", 1), ("4", 1), ("6", 5), ("99", 6)])}
        if "99" not in races and rng.random() < 0.04:
            races.add(self.pick([("5", 40), ("3", 30), ("1", 15), ("2", 10), ("4", 5)]))
        meds = {"1" if rng.random() < 0.55 else "2"}
        for code, p in (("3", 0.2), ("4", 0.03), ("5", 0.01), ("6", 0.1), ("7", 0.25), ("8", 0.08),
                        ("9", 0.08), ("10", 0.08), ("11", 0.25), ("12", 0.45), ("13", 0.05)):
            if rng.random() < p:
                meds.add(code)
        for name, checked in (("dem_race", races), ("dem_concomitant", meds)):
            for code in lay.checkbox_codes(name):
                values[checkbox_column(name, code)] = "1" if code in checked else "0"
        day = -min(14, int(rng.expovariate(1 / 3)))
        values.update(self.visit_values(rec, course, day))
        return values

    def session_values(self, rec: Record, course: Course, day: int, dose: str, sirolimus: bool):
        rng = self.rng
        if rng.random() < 0.1:  # an occasional dose change
            dose = {"28": "56", "56": "84", "84": "56"}[dose]
        values = {
            "esk_date": rec.date(day), "esk_dose_mg": dose, "esk_sirolimus": "1" if sirolimus else "0",
            "esketamine_session_complete": self.status(),
        }
        relapsed = course.relapse_day is not None and day >= course.relapse_day
        m = self.madrs(course, day)
        if rng.random() < (0.95 if relapsed else 0.85):
            values["esk_madrs_total"] = str(min(60, max(0, round(m))))
        if rng.random() < 0.35:
            values["esk_phq9_total"] = str(min(27, max(0, round(0.45 * m + rng.gauss(0, 2)))))
        return values

    def ae_values(self, rec: Record, day: int) -> dict[str, str]:
        rng = self.rng
        terms = AE_TERMS + (AE_TERMS_SIROLIMUS if rec.cohort == "1" else ())
        term = self.pick(terms)
        severity = self.pick([("1", 70), ("2", 25), ("3", 5)])
        serious = "1" if severity == "3" and rng.random() < 0.5 else "0"
        if term in AE_LIKELY_RELATED:
            related = self.pick([("3", 50), ("4", 35), ("2", 15)])
        else:
            related = self.pick([("2", 60), ("1", 25), ("3", 15)])
        return {
            "ae_date": rec.date(day), "ae_term": term, "ae_severity": severity, "ae_serious": serious,
            "ae_related": related, "adverse_event_complete": self.status(),
        }

    def disposition_values(self, rec: Record, course: Course, disp_status: str, end: int):
        rng = self.rng
        values = {"disp_last_date": rec.date(end), "disp_status": disp_status}
        if disp_status != "1":
            values["disp_reason"] = rng.choice(DROPOUT_REASONS[disp_status])
        relapse_day = None
        if course.relapse_day is not None and course.relapse_day <= end and rng.random() < 0.55:
            relapse_day = min(end, course.relapse_day + rng.randint(0, 10))
        elif end >= 14 and rng.random() < 0.04:
            relapse_day = rng.randint(14, end)
        values["relapse_event"] = "1" if relapse_day is not None else "0"
        types: set[str] = set()
        if relapse_day is not None:
            values["relapse_date"] = rec.date(relapse_day)
            for code, p in (("1", 0.2), ("3", 0.2), ("2", 0.03), ("4", 0.6)):
                if rng.random() < p:
                    types.add(code)
            types = types or {"4"}
        for code in self.layout.checkbox_codes("relapse_type"):
            values[checkbox_column("relapse_type", code)] = "1" if code in types else "0"
        values["disposition_complete"] = self.status()
        return values
