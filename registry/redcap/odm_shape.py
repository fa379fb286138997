"""Where ODM records go in the rows and columns of a CSV export of the same project.

Shared by both readers of the records (the XML parser's, :mod:`~registry.redcap.odm_records`,
and REDCap's own layout read by DuckDB, :mod:`~registry.redcap.odm_table`): the event and
instance of a ``StudyEventData``, the row a form's values go to (record × event × repeating
instrument × instance), and the columns of the export in REDCap's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.errors import ExportError
from registry.redcap.odm_metadata import OdmMetadata
from registry.redcap.odm_xml import strip_prefix

CLASSIC_EVENT = "event_1_arm_1"  # what REDCap names the one event of a classic project
REPEATING_FIX = ("export 'CDISC ODM (XML) — project metadata and data' so that the repeating setup comes "
                 "with the data, or pass --repeating with the repeating instruments export")


@dataclass
class Flat:
    """What the flattening saw, for choosing the pseudo columns of the header."""

    events: bool = False
    repeats: bool = False
    dag: bool = False
    extras: dict[str, None] = field(default_factory=dict)
    subjects: int = 0
    rows: int = 0
    row_keys: dict[tuple, tuple] = field(default_factory=dict)  # (event, its key, form OID, its key) -> row key


def local(names: dict[str, str]) -> dict[str, str]:
    """Attributes by local name (``redcap:DataAccessGroup`` -> ``DataAccessGroup``)."""
    return {k.rsplit(":", 1)[-1]: v for k, v in names.items()}


def event_of(event_attrs: dict[str, str] | None, meta: OdmMetadata) -> tuple[str | None, str]:
    """A StudyEventData's event (None in a classic project or outside any event) and its repeat key."""
    if event_attrs is None:
        return None, "1"
    ea = local(event_attrs)
    event = ea.get("UniqueEventName") or strip_prefix(ea.get("StudyEventOID", ""), "Event.")
    if not meta.longitudinal and event == CLASSIC_EVENT:
        event = None
    return event or None, ea.get("StudyEventRepeatKey") or "1"


def row_key(meta: OdmMetadata, event: str | None, event_key: str, form_oid: str, form_key: str,
            where: str) -> tuple[str | None, str | None, str | None]:
    """The row a form's values go to: (event, repeating instrument, instance)."""
    form = strip_prefix(form_oid, "Form.")
    if meta.repeats_event(event):
        return (event, None, event_key)
    if meta.repeats_form(event, form):
        return (event, form, form_key)
    for what, k in (("instrument", form_key), ("event", event_key)):
        if k not in ("", "1"):
            raise ExportError(
                f"form '{form}' has instance {k} but the ODM does not declare the {what} repeating",
                where=f"{where}, event {event or '(none)'}, FormData {form_oid or form}", fix=REPEATING_FIX)
    return (event, None, None)


def header(meta: OdmMetadata, rid: str, flat: Flat) -> list[str]:
    """Export columns in REDCap's CSV order: record ID, pseudo columns, then the items form by form."""
    head = [rid]
    if meta.longitudinal or flat.events:
        head.append("redcap_event_name")
    if meta.repeating or flat.repeats:
        head += ["redcap_repeat_instrument", "redcap_repeat_instance"]
    if "redcap_data_access_group" in meta.columns or flat.dag:
        head.append("redcap_data_access_group")
    if "redcap_survey_identifier" in meta.columns:
        head.append("redcap_survey_identifier")
    rest = dict.fromkeys([*meta.columns, *flat.extras])
    return head + [c for c in rest if c not in head]
