"""A REDCap project: its dictionary plus what the dictionary does not say.

Events, the instrument–event mapping, repeating instruments/events, instrument labels,
data access groups, missing-data codes and (for the default registry) the study-day anchor.
Everything but the dictionary is optional: what is not given is inferred from the export.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import DictionaryError
from registry.redcap.dictionary import Dictionary, read_dictionary
from registry.resources import default_project_dir

# REDCap's standard missing-data codes (Project Setup > Additional Customizations).
STANDARD_MISSING_CODES = (
    "NI", "INV", "UNK", "NASK", "ASKU", "NAV", "MSK", "NA", "NAVU", "NP", "QS", "QI",
    "TRC", "UNC", "DER", "PINF", "NINF", "OTH",
)


@dataclass(frozen=True)
class Event:
    unique_name: str
    label: str = ""
    arm: int = 1
    day_offset: float | None = None
    offset_min: float | None = None
    offset_max: float | None = None


@dataclass
class Project:
    """Everything needed to read an export of one REDCap project."""

    dictionary: Dictionary
    name: str = "redcap"
    events: list[Event] | None = None
    mapping: list[tuple[int, str, str]] | None = None  # (arm, unique event, form)
    repeating: set[tuple[str | None, str | None]] | None = None  # (event or None, form or None)
    instrument_labels: dict[str, str] = field(default_factory=dict)
    dags: dict[str, str] = field(default_factory=dict)  # display name -> unique group name
    missing_codes: tuple[str, ...] = STANDARD_MISSING_CODES
    study_day_anchor: str | None = None
    arms: dict[int, str] = field(default_factory=dict)
    # Suspected identifiers in free text: "refuse" the ingest, or "redact" them and record it.
    phi_action: str = "redact"

    @property
    def longitudinal(self) -> bool:
        return bool(self.events)

    def event_names(self) -> set[str]:
        return {e.unique_name for e in self.events or []}

    def form_label(self, form: str) -> str:
        return self.instrument_labels.get(form) or form.replace("_", " ").title()


def read_csv_rows(path: str | Path, required: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """Read a small REDCap metadata CSV (events, mapping, DAGs …) into dicts."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise DictionaryError(f"cannot read the {what} file: {exc.strerror}", where=str(path),
                              fix=f"pass the {what} file exported from REDCap") from None
    except UnicodeDecodeError:
        raise DictionaryError(f"the {what} file is not UTF-8", where=str(path),
                              fix="save it as UTF-8 CSV") from None
    rows = [r for r in csv.DictReader(io.StringIO(text, newline="")) if any((v or "").strip() for v in r.values())]
    header = set(rows[0]) if rows else set()
    missing = [c for c in required if c not in header]
    if missing:
        raise DictionaryError(f"the {what} file has no column {', '.join(missing)}", where=f"{path}, line 1",
                              fix=f"pass REDCap's {what} export (columns {', '.join(required)})")
    return [{k: (v or "").strip() for k, v in r.items() if k is not None} for r in rows]


def _number(text: str) -> float | None:
    try:
        return float(text) if text != "" else None
    except ValueError:
        return None


def read_events(path: str | Path) -> list[Event]:
    rows = read_csv_rows(path, ("unique_event_name",), "events")
    return [
        Event(
            unique_name=r["unique_event_name"], label=r.get("event_name") or r.get("custom_event_label", ""),
            arm=int(r.get("arm_num") or 1), day_offset=_number(r.get("day_offset", "")),
            offset_min=_number(r.get("offset_min", "")), offset_max=_number(r.get("offset_max", "")),
        )
        for r in rows
    ]


def read_mapping(path: str | Path) -> list[tuple[int, str, str]]:
    rows = read_csv_rows(path, ("unique_event_name", "form"), "instrument-event mapping")
    return [(int(r.get("arm_num") or 1), r["unique_event_name"], r["form"]) for r in rows]


def read_repeating(path: str | Path) -> set[tuple[str | None, str | None]]:
    rows = read_csv_rows(path, ("form_name",), "repeating instruments")
    return {(r.get("event_name") or None, r.get("form_name") or None) for r in rows}


def unique_event_name(label: str, arm: int) -> str:
    """REDCap's unique event name for an event label (Project::getUniqueEventNames).

    >>> unique_event_name("Deadline to opt out", 2)
    'deadline_to_opt_ou_arm_2'
    """
    import hashlib

    name = re.sub(r"[^0-9a-z_ ]", "", label.lower()).replace(" ", "_")[:18].strip("_")
    if not name:
        name = hashlib.md5(label.encode()).hexdigest()[:10]
    return f"{name}_arm_{arm}"


def load_project(
    dictionary: str | Path,
    events: str | Path | None = None,
    mapping: str | Path | None = None,
    repeating: str | Path | None = None,
    missing_codes: tuple[str, ...] | None = None,
    study_day_anchor: str | None = None,
) -> Project:
    """A project from a dictionary file and optional REDCap metadata exports."""
    dic = read_dictionary(dictionary)
    project = Project(
        dictionary=dic,
        name=Path(dictionary).stem,
        events=read_events(events) if events else None,
        mapping=read_mapping(mapping) if mapping else None,
        repeating=read_repeating(repeating) if repeating else None,
        missing_codes=tuple(missing_codes) if missing_codes is not None else STANDARD_MISSING_CODES,
        study_day_anchor=study_day_anchor,
    )
    check_anchor(project)
    return project


def load_default_project(directory: Path | None = None) -> Project:
    """The registry's own REDCap project, shipped in ``schemas/registry_project/``."""
    directory = directory if directory is not None else default_project_dir()
    settings = tomllib.loads((directory / "project.toml").read_text())
    project = load_project(
        directory / "dictionary.csv",
        events=directory / "events.csv",
        mapping=directory / "instrument_event_mapping.csv",
        repeating=directory / "repeating_instruments.csv",
        missing_codes=tuple(settings.get("missing_data_codes", STANDARD_MISSING_CODES)),
        study_day_anchor=settings.get("study_day_anchor"),
    )
    project.name = settings.get("name", "registry")
    project.phi_action = settings.get("phi_action", "refuse")
    for r in read_csv_rows(directory / "instruments.csv", ("instrument_name", "instrument_label"), "instruments"):
        project.instrument_labels[r["instrument_name"]] = r["instrument_label"]
    for r in read_csv_rows(directory / "dags.csv", ("data_access_group_name", "unique_group_name"), "DAGs"):
        project.dags[r["data_access_group_name"]] = r["unique_group_name"]
    for r in read_csv_rows(directory / "arms.csv", ("arm_num", "name"), "arms"):
        project.arms[int(r["arm_num"])] = r["name"]
    return project


def check_anchor(project: Project) -> None:
    anchor = project.study_day_anchor
    if not anchor:
        return
    f = project.dictionary.by_name.get(anchor)
    if f is None or not f.validation.startswith("date"):
        raise DictionaryError(
            f"the study-day anchor '{anchor}' is not a date field of the dictionary",
            where=project.dictionary.source,
            fix="name a date_ymd field with --study-day-anchor, or leave it out to keep calendar dates",
        )
