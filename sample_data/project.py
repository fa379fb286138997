"""The export layout of the registry's REDCap project, read from ``schemas/registry_project/``.

Everything the generator needs to know about the project's structure (columns, which forms
sit on which event, which forms repeat, choice labels, scale items and totals) comes from the
metadata files REDCap exports, so the field list exists in one place only: the dictionary.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from registry.redcap.dictionary import COMPLETE_CHOICES, Dictionary, checkbox_column, read_dictionary

PROJECT_DIR = Path(__file__).resolve().parents[1] / "schemas" / "registry_project"
PSEUDO_COLUMNS = [
    "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group",
]
_CALC_REFERENCE = re.compile(r"\[([a-z][a-z0-9_]*)\]")


@dataclass(frozen=True)
class Scale:
    """A rating scale form: its date field, its radio items and the calc total over some of them."""

    form: str
    date_field: str
    items: tuple[tuple[str, int], ...]  # (field, highest code), every radio item of the form
    total_field: str
    summed: tuple[str, ...]  # the items the calc formula adds up

    @property
    def top(self) -> dict[str, int]:
        return dict(self.items)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


class Layout:
    """Columns and metadata of the project's flat CSV export."""

    def __init__(self, project_dir: Path = PROJECT_DIR) -> None:
        self.dictionary: Dictionary = read_dictionary(project_dir / "dictionary.csv")
        d = self.dictionary
        self.record_id = d.record_id_field
        events = read_csv_rows(project_dir / "events.csv")
        self.events = [e["unique_event_name"] for e in events]
        self.event_labels = {e["unique_event_name"]: e["event_name"] for e in events}
        self.event_forms: dict[str, list[str]] = {e: [] for e in self.events}
        for m in read_csv_rows(project_dir / "instrument_event_mapping.csv"):
            self.event_forms[m["unique_event_name"]].append(m["form"])
        repeating = read_csv_rows(project_dir / "repeating_instruments.csv")
        self.repeating = {(r["event_name"], r["form_name"]) for r in repeating}
        instruments = read_csv_rows(project_dir / "instruments.csv")
        self.form_labels = {r["instrument_name"]: r["instrument_label"] for r in instruments}
        dags = read_csv_rows(project_dir / "dags.csv")
        self.dags = [g["unique_group_name"] for g in dags]
        self.dag_labels = {g["unique_group_name"]: g["data_access_group_name"] for g in dags}

        # Column order: record ID, pseudo-fields, then per form its fields (checkboxes expanded)
        # and <form>_complete (REDCap Classes/Records.php; notes/redcap_format.md section 3).
        self.columns = [self.record_id, *PSEUDO_COLUMNS]
        self.form_columns: dict[str, list[str]] = {}
        self.checkbox_columns: dict[str, list[str]] = {}
        self.translations: dict[str, dict[str, str]] = {}
        for form in d.forms:
            cols: list[str] = []
            boxes: list[str] = []
            for f in d.form_fields(form):
                if f.field_type == "checkbox":
                    for c in f.choices:
                        col = checkbox_column(f.name, c.code)
                        cols.append(col)
                        boxes.append(col)
                        self.translations[col] = {"1": "Checked", "0": "Unchecked"}
                else:
                    cols.append(f.name)
                    if f.choices:
                        self.translations[f.name] = {c.code: c.label for c in f.choices}
            cols.append(f"{form}_complete")
            self.translations[f"{form}_complete"] = dict(COMPLETE_CHOICES)
            self.form_columns[form] = cols
            self.checkbox_columns[form] = boxes
            self.columns.extend(cols)
        self.translations["redcap_event_name"] = self.event_labels
        self.translations["redcap_repeat_instrument"] = self.form_labels
        self.translations["redcap_data_access_group"] = self.dag_labels
        self.index = {c: i for i, c in enumerate(self.columns)}
        self.scales = {s.form: s for s in self._scales()}

    def forms_on_row(self, event: str, repeat_form: str) -> list[str]:
        """The forms whose columns a row of this event / repeating instrument carries."""
        if repeat_form:
            return [repeat_form]
        return [f for f in self.event_forms[event] if (event, f) not in self.repeating]

    def checkbox_codes(self, field: str) -> list[str]:
        return [c.code for c in self.dictionary.by_name[field].choices]

    def _scales(self) -> list[Scale]:
        out = []
        for form in self.dictionary.forms:
            fields = self.dictionary.form_fields(form)
            calcs = [f for f in fields if f.field_type == "calc"]
            dates = [f for f in fields if f.validation.startswith("date")]
            items = tuple(
                (f.name, max(int(c.code) for c in f.choices)) for f in fields if f.field_type == "radio"
            )
            if len(calcs) != 1 or not dates or not items:
                continue
            summed = tuple(_CALC_REFERENCE.findall(calcs[0].choices_text))
            out.append(Scale(form, dates[0].name, items, calcs[0].name, summed))
        return out
