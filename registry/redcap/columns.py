"""Export columns: which columns a project's export may carry, and how each is typed.

Every cell is read as text; each column's type comes from its field's type and validation
(never from guessing). A column knows the SQL that says whether a text value fits its type
and the SQL that casts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.redcap.dictionary import Dictionary, Field, checkbox_column, legacy_checkbox_column

PSEUDO_COLUMNS = (
    "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
    "redcap_data_access_group", "redcap_survey_identifier",
)
KEY_COLUMNS = ("record_id", "redcap_event_name", "redcap_repeat_instance")
IDENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")

INT_RE = r"^[+-]?[0-9]+$"
NUM_RE = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
DATETIME_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?$"
TIME_RE = r"^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$"


@dataclass(frozen=True)
class Column:
    """One typed column of an instrument table, and the export column it comes from."""

    name: str
    form: str
    kind: str  # int | double | comma_double | date | datetime | time | bool | text
    field: Field | None = None
    code: str | None = None  # checkbox choice code

    @property
    def duckdb_type(self) -> str:
        return {
            "int": "BIGINT", "double": "DOUBLE", "comma_double": "DOUBLE", "date": "DATE",
            "datetime": "TIMESTAMP", "time": "TIME", "bool": "BOOLEAN", "text": "VARCHAR",
        }[self.kind]

    @property
    def field_name(self) -> str:
        return self.field.name if self.field else self.name

    def valid_sql(self, x: str) -> str:
        """SQL predicate: the non-NULL text value ``x`` fits this column's type (spaces around it aside)."""
        x = x if self.kind in {"text", "bool"} else f"trim({x})"
        # a number beyond 64 bits, or one that casts to +-inf ("1e309"), is a failed cast, not a value
        if self.kind == "int":
            return f"(regexp_full_match({x}, '{INT_RE}') and try_cast({x} as bigint) is not null)"
        if self.kind == "double":
            return f"(regexp_full_match({x}, '{NUM_RE}') and isfinite(try_cast({x} as double)))"
        if self.kind == "comma_double":
            return (f"(regexp_full_match(replace({x}, ',', '.'), '{NUM_RE}') "
                    f"and isfinite(try_cast(replace({x}, ',', '.') as double)))")
        if self.kind == "date":
            return f"(regexp_full_match({x}, '{DATE_RE}') and try_cast({x} as date) is not null)"
        if self.kind == "datetime":
            return f"(regexp_full_match({x}, '{DATETIME_RE}') and try_cast({x} as timestamp) is not null)"
        if self.kind == "time":
            return f"(regexp_full_match({x}, '{TIME_RE}') and try_cast({x} as time) is not null)"
        if self.kind == "bool":
            return f"({x} in ('0', '1'))"
        return "true"

    def cast_sql(self, x: str) -> str:
        """SQL expression: the typed value of a text value that is valid."""
        x = x if self.kind in {"text", "bool"} else f"trim({x})"
        if self.kind == "int":
            return f"cast({x} as bigint)"
        if self.kind == "double":
            return f"cast({x} as double)"
        if self.kind == "comma_double":
            return f"cast(replace({x}, ',', '.') as double)"
        if self.kind == "date":
            return f"cast({x} as date)"
        if self.kind == "datetime":
            return f"cast({x} as timestamp)"
        if self.kind == "time":
            return f"cast({x} as time)"
        if self.kind == "bool":
            return f"({x} = '1')"
        return x


def field_kind(f: Field) -> str:
    """The storage kind of a non-checkbox field."""
    if f.field_type in {"radio", "dropdown", "yesno", "truefalse"}:
        return "int" if all(re.match(INT_RE, c.code) for c in f.choices) else "text"
    if f.field_type == "calc":
        return "double"
    if f.field_type == "slider":
        return "int"
    if f.field_type != "text":
        return "text"
    v = f.validation
    if v in {"integer"}:
        return "int"
    if v.startswith("number") and "comma_decimal" in v:
        return "comma_double"
    if v.startswith("number"):
        return "double"
    if v.startswith("date_"):
        return "date"
    if v.startswith("datetime_"):
        return "datetime"
    if v in {"time", "time_hh_mm_ss"}:
        return "time"
    return "text"


def form_columns(dictionary: Dictionary, form: str, export_columns: set[str] | None = None) -> list[Column]:
    """The typed data columns of a form's table, in dictionary order.

    ``export_columns`` (when given) adds ``<form>_timestamp`` if the export has it.
    """
    cols: list[Column] = []
    for f in dictionary.form_fields(form):
        if f.field_type == "checkbox":
            cols.extend(Column(checkbox_column(f.name, c.code), form, "bool", f, c.code) for c in f.choices)
        else:
            cols.append(Column(f.name, form, field_kind(f), f))
    if export_columns is not None and f"{form}_timestamp" in export_columns:
        cols.append(Column(f"{form}_timestamp", form, "text"))
    cols.append(Column(f"{form}_complete", form, "int"))
    return cols


def checkbox_aliases(dictionary: Dictionary) -> dict[str, str]:
    """Old-style checkbox column names (before REDCap 15's '.' rule) -> current names."""
    out = {}
    for f in dictionary.fields:
        if f.field_type == "checkbox":
            for c in f.choices:
                old, new = legacy_checkbox_column(f.name, c.code), checkbox_column(f.name, c.code)
                if old != new:
                    out[old] = new
    return out


def missing_code_columns(dictionary: Dictionary, missing_codes: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Checkbox columns REDCap adds for missing-data codes: column -> (field, code)."""
    out = {}
    for f in dictionary.fields:
        if f.field_type == "checkbox":
            own = {checkbox_column(f.name, c.code) for c in f.choices}
            for code in missing_codes:
                col = checkbox_column(f.name, code)
                if col not in own:
                    out[col] = (f.name, code)
    return out


def known_columns(dictionary: Dictionary, missing_codes: tuple[str, ...]) -> set[str]:
    """Every column an export of this project may carry."""
    cols = {dictionary.record_id_field, *PSEUDO_COLUMNS}
    for form in dictionary.forms:
        cols.update(c.name for c in form_columns(dictionary, form))
        cols.add(f"{form}_timestamp")
    for f in dictionary.fields:
        if f.name == dictionary.record_id_field or not f.has_column:
            continue
        if f.field_type != "checkbox":
            cols.add(f.name)
    cols.update(missing_code_columns(dictionary, missing_codes))
    cols.update(checkbox_aliases(dictionary))
    return cols
