"""Plant known problems in clean records: data-quality errors (``--dirty``) and identifiers (``--phi``).

Each problem goes into its own record (while there are enough records that qualify), so a
finding points at exactly one planted problem. Every change is listed in a manifest entry
``{"record_id", "event", "instance", "field", "problem"}`` (``"kind"`` instead of ``"problem"``
for identifiers; the identifier itself is never written to the manifest).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from registry.redcap.dictionary import checkbox_column
from sample_data.patients import BASELINE, STUDY_END, TREATMENT_LOG, WEEK_8, WEEK_16, Record, Row
from sample_data.project import Layout

SCALE_DATES = ("madrs_date", "phq9_date", "hamd_date")


def _entry(rec: Record, row: Row, field: str, key: str, value: str) -> dict:
    return {"record_id": rec.record_id, "event": row.event, "instance": row.instance, "field": field,
            key: value}


def _base(rec: Record) -> Row:
    row = rec.first(BASELINE)
    assert row is not None, "every simulated record has a baseline row"
    return row


def _end(rec: Record) -> Row:
    row = rec.first(STUDY_END)
    assert row is not None, "every simulated record has a study-end row"
    return row


def _last_day(rec: Record) -> int:
    return rec.day(_end(rec).values["disp_last_date"])


def _extend_follow_up(rec: Record, day: int) -> None:
    """Keep disp_last_date on/after a moved date, so the move is the only problem planted."""
    if _last_day(rec) < day:
        _end(rec).values["disp_last_date"] = rec.date(day)


def _move_visit(rec: Record, event: str, day: int, problem: str) -> list[dict]:
    row = rec.first(event)
    out = []
    for name in SCALE_DATES:
        if name in row.values:
            row.values[name] = rec.date(day)
            out.append(_entry(rec, row, name, "problem", problem))
    _extend_follow_up(rec, day)
    return out


def _set_item(rec: Record, layout: Layout, form: str, item: str, value: int, problem: str) -> list[dict]:
    """Score an item out of its range; the calc total follows, as REDCap would recompute it."""
    row = _base(rec)
    scale = layout.scales[form]
    old = int(row.values[item])
    row.values[item] = str(value)
    if item in scale.summed:
        row.values[scale.total_field] = str(int(row.values[scale.total_field]) - old + value)
    return [_entry(rec, row, item, "problem", problem)]


def _sirolimus(rec: Record, instance: int) -> Row:
    return rec.find(TREATMENT_LOG, "sirolimus_dose")[instance - 1]


# -- the data-quality problems ------------------------------------------------------------------
def _madrs_item_7(rec, layout, rng):
    return _set_item(rec, layout, "madrs", "madrs_1", 7, "madrs_item_out_of_range")


def _hamd_item_3(rec, layout, rng):
    item = next(n for n, top in layout.scales["hamd"].items if top == 2)
    return _set_item(rec, layout, "hamd", item, 3, "hamd_item_out_of_range")


def _madrs_total_off(rec, layout, rng):
    row = _base(rec)
    total = int(row.values["madrs_total"])
    row.values["madrs_total"] = str(total + 5 if total <= 55 else total - 5)
    return [_entry(rec, row, "madrs_total", "problem", "madrs_total_not_item_sum")]


def _phq9_total_with_item_10(rec, layout, rng):
    row = _base(rec)
    row.values["phq9_10"] = str(max(2, int(row.values["phq9_10"])))
    row.values["phq9_total"] = str(int(row.values["phq9_total"]) + int(row.values["phq9_10"]))
    return [_entry(rec, row, "phq9_total", "problem", "phq9_total_includes_item_10")]


def _week_16_day_150(rec, layout, rng):
    return _move_visit(rec, WEEK_16, 150, "week_16_out_of_window")


def _week_8_day_30(rec, layout, rng):
    return _move_visit(rec, WEEK_8, 30, "week_8_out_of_window")


def _baseline_after_day_0(rec, layout, rng):
    return _move_visit(rec, BASELINE, 5, "baseline_after_day_0")


def _week_8_before_baseline(rec, layout, rng):
    baseline_day = rec.day(_base(rec).values["madrs_date"])
    return _move_visit(rec, WEEK_8, baseline_day - 7, "week_8_before_baseline")


def _sirolimus_60mg(rec, layout, rng):
    row = _sirolimus(rec, 1)
    row.values["sir_dose_mg"] = "60"
    return [_entry(rec, row, "sir_dose_mg", "problem", "sirolimus_dose_not_6_mg")]


def _sirolimus_6h(rec, layout, rng):
    row = _sirolimus(rec, 2)
    row.values["sir_hours_before"] = "6"
    return [_entry(rec, row, "sir_hours_before", "problem", "sirolimus_not_2_hours_before")]


def _sirolimus_second_day_40(rec, layout, rng):
    row = _sirolimus(rec, 2)
    row.values["sir_date"] = rec.date(40)
    _extend_follow_up(rec, 40)
    return [_entry(rec, row, "sir_date", "problem", "sirolimus_second_dose_not_28_days_after_first")]


def _sirolimus_first_not_day_0(rec, layout, rng):
    first, second = _sirolimus(rec, 1), _sirolimus(rec, 2)
    # Keep the 28 +/- 3 day interval to the second dose so this is the only protocol deviation.
    first.values["sir_date"] = rec.date(2 if rec.day(second.values["sir_date"]) >= 27 else -2)
    return [_entry(rec, first, "sir_date", "problem", "sirolimus_first_dose_not_on_day_0")]


def _sirolimus_in_comparator(rec, layout, rng):
    row = rec.add_instance("sirolimus_dose", {
        "sir_date": rec.date(0), "sir_dose_mg": "6", "sir_hours_before": "2", "sir_taken": "1",
        "sirolimus_dose_complete": "2",
    })
    return [_entry(rec, row, "sir_date", "problem", "sirolimus_dose_in_comparator_cohort")]


def _age_17(rec, layout, rng):
    row = _base(rec)
    row.values["dem_age"] = "17"
    return [_entry(rec, row, "dem_age", "problem", "age_out_of_range")]


def _sex_blank(rec, layout, rng):
    row = _base(rec)
    del row.values["dem_sex"]
    return [_entry(rec, row, "dem_sex", "problem", "required_field_blank")]


def _sex_code_7(rec, layout, rng):
    row = _base(rec)
    row.values["dem_sex"] = "7"
    return [_entry(rec, row, "dem_sex", "problem", "invalid_choice_code")]


def _not_a_date(rec, layout, rng):
    row = _base(rec)
    row.values["dem_esk_start_date"] = "not a date"
    return [_entry(rec, row, "dem_esk_start_date", "problem", "not_a_date")]


def _hidden_relapse_date(rec, layout, rng):
    row = _end(rec)
    row.values["relapse_date"] = rec.date(rng.randint(14, max(14, _last_day(rec))))
    return [_entry(rec, row, "relapse_date", "problem", "hidden_field_has_value")]


def _relapse_without_date(rec, layout, rng):
    row = _end(rec)
    row.values["relapse_event"] = "1"
    row.values[checkbox_column("relapse_type", "4")] = "1"
    return [_entry(rec, row, "relapse_date", "problem", "required_field_blank")]


def _relapse_after_follow_up(rec, layout, rng):
    row = _end(rec)
    row.values["relapse_event"] = "1"
    row.values["relapse_date"] = rec.date(_last_day(rec) + 20)
    row.values[checkbox_column("relapse_type", "4")] = "1"
    return [_entry(rec, row, "relapse_date", "problem", "relapse_after_last_contact")]


def _session_after_last_contact(rec, layout, rng):
    row = rec.add_instance("esketamine_session", {
        "esk_date": rec.date(_last_day(rec) + 9), "esk_dose_mg": "56", "esk_sirolimus": "0",
        "esketamine_session_complete": "2",
    })
    return [_entry(rec, row, "esk_date", "problem", "session_after_last_contact")]


def _has(event: str) -> Callable[[Record], bool]:
    return lambda rec: rec.first(event) is not None and "madrs_date" in rec.first(event).values


def _sirolimus_pair(rec: Record) -> bool:
    return rec.cohort == "1" and len(rec.find(TREATMENT_LOG, "sirolimus_dose")) == 2


def _no_relapse(rec: Record) -> bool:
    return _end(rec).values.get("relapse_event") == "0"


def _any(rec: Record) -> bool:
    return True


DIRTY = (
    (_madrs_item_7, _any), (_hamd_item_3, lambda r: "hamd_total" in _base(r).values),
    (_madrs_total_off, _any), (_phq9_total_with_item_10, _any),
    (_week_16_day_150, _has(WEEK_16)), (_week_8_day_30, _has(WEEK_8)),
    (_baseline_after_day_0, _any), (_week_8_before_baseline, _has(WEEK_8)),
    (_sirolimus_60mg, _sirolimus_pair), (_sirolimus_6h, _sirolimus_pair),
    (_sirolimus_second_day_40, _sirolimus_pair), (_sirolimus_first_not_day_0, _sirolimus_pair),
    (_sirolimus_in_comparator, lambda r: r.cohort == "2"),
    (_age_17, _any), (_sex_blank, _any), (_sex_code_7, _any), (_not_a_date, _any),
    (_hidden_relapse_date, _no_relapse), (_relapse_without_date, _no_relapse),
    (_relapse_after_follow_up, _no_relapse), (_session_after_last_contact, _any),
)


def _choose(records: list[Record], used: set[str], fits, rng: random.Random) -> Record | None:
    fresh = [r for r in records if r.record_id not in used and fits(r)]
    pool = fresh or [r for r in records if fits(r)]
    return rng.choice(pool) if pool else None


def plant_dirty(records: list[Record], layout: Layout, rng: random.Random) -> list[dict]:
    """Plant every problem in DIRTY, each in its own record while records last; return the manifest."""
    manifest: list[dict] = []
    used: set[str] = set()
    for plant, fits in DIRTY:
        rec = _choose(records, used, fits, rng)
        if rec is None:
            continue
        used.add(rec.record_id)
        manifest += plant(rec, layout, rng)
    return manifest


# -- identifiers in free text -------------------------------------------------------------------
FIRST = ("Maria", "James", "Linda", "Robert", "Aisha", "Daniel", "Mei", "Carlos")
LAST = ("Alvarez", "Thompson", "Nguyen", "Okafor", "Kowalski", "Brennan", "Haddad", "Lindqvist")
STREETS = ("Maple Avenue", "Elm Street", "Oak Lane", "Cedar Road", "Birch Court")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _phi_text(kind: str, rng: random.Random) -> str:
    if kind == "email":
        return f"Moved care elsewhere, new clinic contact {rng.choice(FIRST).lower()}." \
               f"{rng.choice(LAST).lower()}@example.org"
    if kind == "phone":
        area = rng.randint(201, 989)
        return f"No response to outreach, voicemail left at ({area}) 555-01{rng.randint(10, 99)}"
    if kind == "ssn":
        return f"Insurance coverage ended for member SSN 9{rng.randint(10, 99)}-{rng.randint(10, 99)}-" \
               f"{rng.randint(1000, 9999)}"
    if kind == "street_address":
        return f"Fall at home, {rng.randint(100, 9999)} {rng.choice(STREETS)}"
    return f"Dizziness after session on {rng.choice(MONTHS)} {rng.randint(1, 28)}, {rng.randint(2019, 2025)}"


PHI = (("disp_reason", "email"), ("disp_reason", "phone"), ("disp_reason", "ssn"),
       ("ae_term", "street_address"), ("ae_term", "date"))


def plant_phi(records: list[Record], layout: Layout, rng: random.Random,
              used: set[str] | None = None) -> list[dict]:
    """Write identifiers into free-text fields of distinct records; the manifest names the kind only."""
    manifest: list[dict] = []
    used = set() if used is None else used
    for field, kind in PHI:
        if field == "disp_reason":
            rec = _choose(records, used, lambda r: "disp_reason" in _end(r).values, rng) \
                or _choose(records, used, _any, rng)
            row = _end(rec)
            if "disp_reason" not in row.values:
                row.values["disp_status"] = "2"  # the reason is shown only for dropouts
        else:
            rec = _choose(records, used, lambda r: bool(r.find(TREATMENT_LOG, "adverse_event")), rng) \
                or _choose(records, used, _any, rng)
            events = rec.find(TREATMENT_LOG, "adverse_event")
            row = events[0] if events else rec.add_instance("adverse_event", {
                "ae_date": rec.find(TREATMENT_LOG, "esketamine_session")[-1].values["esk_date"],
                "ae_severity": "1", "ae_serious": "0", "ae_related": "2", "adverse_event_complete": "2",
            })
        used.add(rec.record_id)
        row.values[field] = _phi_text(kind, rng)
        manifest.append(_entry(rec, row, field, "kind", kind))
    return manifest
