"""The REDCap data dictionary (metadata): reading it and asking it questions.

Reads the 18-column CSV in either header style (UI "Variable / Field Name" or API
"field_name"), with or without a BOM, LF or CRLF, and with the thousands of empty rows an
Excel re-save leaves behind; also the API's JSON metadata array. The record-ID field is the
first field, whatever its name.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import DictionaryError

# UI header -> API name, in REDCap's fixed order (Classes/MetaData.php getDataDictionaryHeaders).
HEADERS = {
    "Variable / Field Name": "field_name",
    "Form Name": "form_name",
    "Section Header": "section_header",
    "Field Type": "field_type",
    "Field Label": "field_label",
    "Choices, Calculations, OR Slider Labels": "select_choices_or_calculations",
    "Field Note": "field_note",
    "Text Validation Type OR Show Slider Number": "text_validation_type_or_show_slider_number",
    "Text Validation Min": "text_validation_min",
    "Text Validation Max": "text_validation_max",
    "Identifier?": "identifier",
    "Branching Logic (Show field only if...)": "branching_logic",
    "Required Field?": "required_field",
    "Custom Alignment": "custom_alignment",
    "Question Number (surveys only)": "question_number",
    "Matrix Group Name": "matrix_group_name",
    "Matrix Ranking?": "matrix_ranking",
    "Field Annotation": "field_annotation",
}
API_COLUMNS = list(HEADERS.values())
DELIMITERS = (",", ";", "\t", "|")

FIELD_TYPES = {
    "text", "notes", "dropdown", "radio", "checkbox", "yesno", "truefalse", "calc",
    "slider", "file", "descriptive", "sql",
}
# Legacy internal names that exports and ODM still carry.
LEGACY_TYPES = {"select": "dropdown", "textarea": "notes"}
LEGACY_VALIDATIONS = {
    "int": "integer", "float": "number", "date": "date_ymd",
    "datetime": "datetime_ymd", "datetime_seconds": "datetime_seconds_ymd",
}
YESNO = (("1", "Yes"), ("0", "No"))
TRUEFALSE = (("1", "True"), ("0", "False"))
COMPLETE_CHOICES = (("0", "Incomplete"), ("1", "Unverified"), ("2", "Complete"))
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_NAME = 100  # REDCap's limit on a variable name; also ours on a form name (it names files and tables)
# Names a field or form cannot take: REDCap's own export columns and the database's own schemas
# (a form becomes a view in main; fields starting redcap_ are REDCap's).
RESERVED_NAMES = {"main", "temp", "registry", "information_schema", "pg_catalog", "system"}


@dataclass(frozen=True)
class Choice:
    code: str
    label: str


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary."""

    name: str
    form: str
    field_type: str
    label: str = ""
    choices_text: str = ""
    validation: str = ""
    vmin: str = ""
    vmax: str = ""
    identifier: bool = False
    branching_logic: str = ""
    required: bool = False
    annotation: str = ""
    note: str = ""
    section_header: str = ""
    matrix_group: str = ""
    choices: tuple[Choice, ...] = ()

    @property
    def is_free_text(self) -> bool:
        """Notes, and text fields with no validation: where identifiers can hide."""
        return self.field_type == "notes" or (self.field_type == "text" and not self.validation)

    @property
    def has_column(self) -> bool:
        return self.field_type != "descriptive"

    def code_for_label(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for c in self.choices:
            out.setdefault(c.label, []).append(c.code)
        return out


def parse_choices(text: str) -> tuple[Choice, ...]:
    """Parse ``"1, Yes | 0, No"`` (any spacing around ``|``; label may hold commas).

    >>> parse_choices("1, Yes|0, No")
    (Choice(code='1', label='Yes'), Choice(code='0', label='No'))
    """
    out = []
    for piece in (text or "").replace("\\n", "|").split("|"):
        piece = piece.strip()
        if not piece:
            continue
        code, sep, label = piece.partition(",")
        code = code.strip()
        if not code:
            continue
        out.append(Choice(code, label.strip() if sep else code))
    return tuple(out)


def checkbox_column(field_name: str, code: str) -> str:
    """The export column of one checkbox choice (REDCap getExtendedCheckboxCodeFormatted).

    >>> checkbox_column("race", "-99")
    'race____99'
    """
    formatted = re.sub(r"[^a-z0-9_]", "", code.replace("-", "_").replace(".", "_").lower())
    return f"{field_name}___{formatted}"


def legacy_checkbox_column(field_name: str, code: str) -> str:
    """Before REDCap 15, '.' was dropped rather than turned into '_'."""
    return f"{field_name}___{re.sub(r'[^a-z0-9_]', '', code.replace('-', '_').lower())}"


@dataclass
class Dictionary:
    """A parsed data dictionary: fields in order, forms in order."""

    fields: list[Field]
    source: str = ""
    sha256: str = ""
    warnings: list[str] = field(default_factory=list)  # e.g. a radio field without choices, read as text
    by_name: dict[str, Field] = field(init=False)

    def __post_init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}

    @property
    def record_id_field(self) -> str:
        return self.fields[0].name

    @property
    def forms(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.fields:
            seen.setdefault(f.form, None)
        return list(seen)

    def form_fields(self, form: str) -> list[Field]:
        """Fields of a form that carry data, the record-ID field excluded."""
        return [
            f for f in self.fields
            if f.form == form and f.has_column and f.name != self.record_id_field
        ]

    def to_rows(self) -> list[dict[str, str]]:
        """The dictionary as API-named rows (for storing a snapshot with each batch)."""
        return [_field_to_row(f) for f in self.fields]


def _field_to_row(f: Field) -> dict[str, str]:
    return {
        "field_name": f.name, "form_name": f.form, "section_header": f.section_header,
        "field_type": f.field_type, "field_label": f.label,
        "select_choices_or_calculations": f.choices_text, "field_note": f.note,
        "text_validation_type_or_show_slider_number": f.validation,
        "text_validation_min": f.vmin, "text_validation_max": f.vmax,
        "identifier": "y" if f.identifier else "", "branching_logic": f.branching_logic,
        "required_field": "y" if f.required else "", "custom_alignment": "",
        "question_number": "", "matrix_group_name": f.matrix_group, "matrix_ranking": "",
        "field_annotation": f.annotation,
    }


def read_dictionary(path: str | Path) -> Dictionary:
    """Read a REDCap data dictionary from CSV or from the API's JSON metadata.

    A JSON file may be the metadata array itself or an object holding it under
    ``"metadata"`` (as API test bundles do).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DictionaryError(
            f"cannot read the data dictionary: {exc.strerror}", where=str(path),
            fix="pass the dictionary downloaded from REDCap (Project Setup > Data Dictionary) with --dictionary",
        ) from None
    return parse_dictionary(data, source=str(path))


def parse_dictionary(data: bytes, source: str = "<dictionary>") -> Dictionary:
    if not data.strip():
        raise DictionaryError("the data dictionary is empty", where=source,
                              fix="download the dictionary again from REDCap")
    if b"\x00" in data[:4096]:
        raise DictionaryError("the data dictionary is a binary file, not CSV", where=source,
                              fix="pass the dictionary as the CSV REDCap downloads")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise DictionaryError(
                f"the data dictionary is not UTF-8 (bad byte at offset {exc.start})", where=source,
                fix="save the dictionary as UTF-8 CSV",
            ) from None
    stripped = text.lstrip()
    if stripped.startswith("[") or stripped.startswith("{"):
        rows = _json_rows(stripped, source)
    else:
        rows = _csv_rows(text, source)
    warnings: list[str] = []
    fields = [row_to_field(r, source, i, warnings) for i, r in rows]
    if not fields:
        raise DictionaryError("the data dictionary has no fields", where=source,
                              fix="download the dictionary again from REDCap")
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise DictionaryError(f"field '{f.name}' is defined twice", where=source,
                                  fix="each Variable / Field Name must be unique; fix the dictionary")
        seen.add(f.name)
    _check_names(fields, source)
    _check_export_columns(fields, source)
    return Dictionary(fields, source=source, sha256=hashlib.sha256(data).hexdigest(), warnings=warnings)


def _check_names(fields: list[Field], source: str) -> None:
    """Names REDCap would not accept, or that would collide with REDCap's or the registry's own."""
    forms = {f.form for f in fields}
    for f in fields:
        for kind, name in (("field", f.name), ("form", f.form)):
            if len(name) > MAX_NAME:
                raise DictionaryError(
                    f"{kind} name '{name[:40]}…' is {len(name)} characters long (REDCap allows {MAX_NAME})",
                    where=f"{source}, field {f.name[:40]}", fix=f"shorten the {kind} name to {MAX_NAME} characters")
            if name.startswith("redcap_") or name in RESERVED_NAMES or re.fullmatch(r"batch_[0-9]+", name):
                raise DictionaryError(
                    f"{kind} name '{name}' collides with a column or table REDCap or the registry uses itself",
                    where=f"{source}, field {f.name}",
                    fix=f"rename the {kind} in REDCap (names starting 'redcap_', 'batch_<n>', and "
                        f"{', '.join(sorted(RESERVED_NAMES))} are reserved) and export the dictionary again")
        status = next((form for form in forms if f.name == f"{form}_complete"), None)
        if status:
            raise DictionaryError(
                f"field name '{f.name}' collides with the status column REDCap adds for form '{status}'",
                where=f"{source}, field {f.name}", fix="rename the field in REDCap and export the dictionary again")


def _check_export_columns(fields: list[Field], source: str) -> None:
    """Two fields or checkbox choices must not give the same export column (e.g. codes 'A' and 'a')."""
    owner: dict[str, str] = {}
    for f in fields:
        names = [checkbox_column(f.name, c.code) for c in f.choices] if f.field_type == "checkbox" else [f.name]
        if f.name == fields[0].name:
            names = ["record_id", f.name]
        for col in names:
            if col in owner and not (col == "record_id" and owner[col] == f.name):
                raise DictionaryError(
                    f"field '{f.name}' and field '{owner[col]}' both give the export column '{col}'",
                    where=source,
                    fix="rename one of them, or give checkbox choices codes that differ after REDCap lower-cases "
                        "them and turns '-' and '.' into '_'",
                )
            owner[col] = f.name


def _json_rows(text: str, source: str) -> list[tuple[int, dict]]:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DictionaryError(f"the JSON dictionary is malformed: {exc.msg}",
                              where=f"{source}, line {exc.lineno}", fix="export the metadata again") from None
    if isinstance(obj, dict):
        obj = obj.get("metadata")
    if not isinstance(obj, list):
        raise DictionaryError("the JSON has no metadata array", where=source,
                              fix="pass the API 'metadata' export (a JSON array of fields)")
    return [(i + 1, {k: "" if v is None else str(v) for k, v in r.items()}) for i, r in enumerate(obj)]


def _csv_rows(text: str, source: str) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        header = []
    names = [HEADERS.get(h.strip(), h.strip()) for h in header]
    missing = [c for c in ("field_name", "form_name", "field_type") if c not in names]
    if missing:
        raise DictionaryError(
            f"the file is not a REDCap data dictionary: no column {', '.join(missing)}",
            where=f"{source}, line 1",
            fix="pass the data dictionary CSV (first column 'Variable / Field Name') with --dictionary",
        )
    rows = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # Excel re-saves leave thousands of ',,,,' rows
            rec = dict(zip(names, row, strict=False))
            rows.append((reader.line_num, rec))
    except csv.Error as exc:
        raise DictionaryError(f"the dictionary CSV is malformed: {exc}", where=f"{source}, line {reader.line_num}",
                              fix="download the dictionary again from REDCap") from None
    return rows


def _delimiter(text: str) -> str:
    """The delimiter whose first line names the most dictionary columns: ',' or, as REDCap in a
    comma-decimal locale (or Excel there) writes it, ';' — also tab and '|'."""
    first = (text.lstrip("\ufeff").splitlines() or [""])[0]

    def known(delim: str) -> int:
        cells = next(csv.reader([first], delimiter=delim), [])
        return sum(HEADERS.get(c.strip(), c.strip()) in API_COLUMNS for c in cells)

    return max(DELIMITERS, key=known)  # ties (no known column) keep ','


def row_to_field(r: dict, source: str, line: int, warnings: list[str] | None = None) -> Field:
    """One dictionary row as a field; what was read leniently is added to ``warnings``."""
    def get(key: str) -> str:
        return (r.get(key) or "").strip()

    name = get("field_name")
    where = f"{source}, line {line}"
    if not name:
        raise DictionaryError("a dictionary row has no field name", where=where,
                              fix="fill in 'Variable / Field Name' or delete the row")
    if not NAME_RE.match(name):
        raise DictionaryError(f"field name '{name}' is not a valid REDCap variable name", where=where,
                              fix="REDCap names are lower-case letters, digits and '_', starting with a letter")
    form = get("form_name")
    if not NAME_RE.match(form):
        raise DictionaryError(f"form name '{form}' of field '{name}' is not a valid REDCap form name",
                              where=where, fix="fill in 'Form Name' with the instrument's unique name")
    ftype = LEGACY_TYPES.get(get("field_type"), get("field_type"))
    if ftype not in FIELD_TYPES:
        raise DictionaryError(f"field '{name}' has unknown field type '{ftype}'", where=where,
                              fix=f"use one of: {', '.join(sorted(FIELD_TYPES))}")
    validation = get("text_validation_type_or_show_slider_number")
    validation = LEGACY_VALIDATIONS.get(validation, validation)
    choices_text = r.get("select_choices_or_calculations") or ""
    if ftype in {"radio", "dropdown"} and not parse_choices(choices_text):
        # REDCap exports such a field (e.g. choices deleted after data entry); its cells are kept as text
        if warnings is not None:
            warnings.append(f"{ftype} field '{name}' has no choices: its values are loaded as text "
                            f"(add its choices in REDCap to store them as codes)")
        ftype = "text"
    if ftype in {"radio", "dropdown", "checkbox"}:
        choices = parse_choices(choices_text)
        if not choices:
            raise DictionaryError(f"{ftype} field '{name}' has no choices", where=where,
                                  fix="fill in 'Choices, Calculations, OR Slider Labels' as 'code, label | ...'")
    elif ftype == "yesno":
        choices = tuple(Choice(c, lab) for c, lab in YESNO)
    elif ftype == "truefalse":
        choices = tuple(Choice(c, lab) for c, lab in TRUEFALSE)
    else:
        choices = ()
    return Field(
        name=name, form=form, field_type=ftype, label=get("field_label"),
        choices_text=choices_text.strip(), validation=validation,
        vmin=get("text_validation_min"), vmax=get("text_validation_max"),
        identifier=get("identifier").lower() == "y", branching_logic=get("branching_logic"),
        required=get("required_field").lower() == "y", annotation=get("field_annotation"),
        note=get("field_note"), section_header=get("section_header"),
        matrix_group=get("matrix_group_name"), choices=choices,
    )
