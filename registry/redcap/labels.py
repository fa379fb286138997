"""Label exports ("CSV (labels)", API ``rawOrLabel=label``) mapped back to codes.

REDCap writes choice labels, ``Checked``/``Unchecked``, ``Incomplete``/``Unverified``/
``Complete``, event labels, instrument labels and DAG names in place of codes; a UI label
export also writes field labels as headers. Everything is mapped back through the
dictionary; a label that maps to two codes is refused rather than guessed.
"""

from __future__ import annotations

import html
import re

from registry.errors import ExportError
from registry.redcap.columns import form_columns
from registry.redcap.dictionary import COMPLETE_CHOICES
from registry.redcap.project import Project, unique_event_name
from registry.sqltext import quote_ident, reader, render

CHECKBOX_LABELS = {"Checked": "1", "Unchecked": "0"}
PSEUDO_LABELS = {
    "event name": "redcap_event_name", "repeat instrument": "redcap_repeat_instrument",
    "repeat instance": "redcap_repeat_instance", "data access group": "redcap_data_access_group",
    "survey identifier": "redcap_survey_identifier",
}
SAMPLE_ROWS = 5000


def _norm(text: str) -> str:
    text = html.unescape(re.sub(r"<[^>]*>", " ", text or ""))
    return re.sub(r"\s+", " ", text).strip().lower()


def column_label_map(project: Project, header: list[str]) -> dict[str, dict[str, list[str]]]:
    """For each categorical column in the header: label -> codes."""
    dic = project.dictionary
    present = set(header)
    out: dict[str, dict[str, list[str]]] = {}
    for form in dic.forms:
        for col in form_columns(dic, form):
            if col.name not in present:
                continue
            if col.name.endswith("_complete") and col.field is None:
                out[col.name] = {lab: [code] for code, lab in COMPLETE_CHOICES}
            elif col.kind == "bool" and col.field is not None:
                label = next(c.label for c in col.field.choices if c.code == col.code)
                mapping = {k: [v] for k, v in CHECKBOX_LABELS.items()}
                mapping.setdefault(label, ["1"])
                out[col.name] = mapping
            elif col.field is not None and col.field.field_type in {"radio", "dropdown", "yesno", "truefalse"}:
                codes = {c.code for c in col.field.choices}
                out[col.name] = {
                    lab: cs for lab, cs in col.field.code_for_label().items() if lab not in codes or len(cs) > 1
                }
    return out


def event_label_map(project: Project, values: set[str]) -> dict[str, str]:
    """Event label (as a label export shows it) -> unique event name."""
    out: dict[str, str] = {}
    for e in project.events or []:
        out[e.label] = e.unique_name
        arm_name = project.arms.get(e.arm, f"Arm {e.arm}")
        out[f"{e.label} (Arm {e.arm}: {arm_name})"] = e.unique_name
    known = project.event_names()
    for v in values:
        if v in out or v in known:
            continue
        m = re.match(r"^(.*) \(Arm (\d+): .*\)$", v)
        label, arm = (m.group(1), int(m.group(2))) if m else (v, 1)
        if project.events is None:
            out[v] = unique_event_name(label, arm)
    return out


def detect_format(con, project: Project, header: list[str]) -> str:
    """'label' if a sample of categorical cells holds more labels than codes, else 'raw'."""
    maps = column_label_map(project, header)
    cols = [c for c in header if c in maps]
    code_hits = label_hits = 0
    if cols:
        sql = render(reader("registry.redcap")("label_sample_values"), columns=", ".join(map(quote_ident, cols)))
        values = con.execute(sql, {"sample": SAMPLE_ROWS}).fetchall()
        codes = {c: _codes(project, c) for c in cols}
        for c, v, n in values:
            if v in codes[c]:
                code_hits += n
            elif v in maps[c]:
                label_hits += n
    if "redcap_event_name" in header and project.events:
        labels = {e.label for e in project.events} - project.event_names()
        for (v,) in con.execute(f"select distinct redcap_event_name from raw limit {SAMPLE_ROWS}").fetchall():
            label_hits += v in labels
            code_hits += v in project.event_names()
    return "label" if label_hits > code_hits else "raw"


def _codes(project: Project, column: str) -> set[str]:
    dic = project.dictionary
    if column.endswith("_complete") and column not in dic.by_name:
        return {"0", "1", "2"}
    if "___" in column and column.split("___")[0] in dic.by_name:
        return {"0", "1"}
    f = dic.by_name.get(column)
    return {c.code for c in f.choices} if f else set()


def translate_labels(con, project: Project, header: list[str], display: str) -> None:
    """Rewrite the label cells of ``raw`` as codes."""
    maps = column_label_map(project, header)
    rows = []
    for col, mapping in maps.items():
        for label, codes in mapping.items():
            rows.append((col, label, codes[0] if len(codes) == 1 else None))
    con.execute("create or replace temp table __labels (col varchar, label varchar, code varchar)")
    if rows:
        con.executemany("insert into __labels values (?, ?, ?)", rows)
    for col in maps:
        q = quote_ident(col)
        bad = con.execute(
            f"select r.__row, r.record_id, r.{q} from raw r join __labels l on l.col = $col and r.{q} = l.label "
            "where l.code is null order by r.__row limit 1", {"col": col},
        ).fetchone()
        if bad:
            raise ExportError(
                f"the label '{bad[2]}' stands for more than one code of {col}; a label export cannot be mapped back",
                where=f"{display}, data row {bad[0]}, record {bad[1]}, field {col}",
                fix="export the raw data (codes) instead: 'CSV / Microsoft Excel (raw data)' or rawOrLabel=raw",
            )
        con.execute(
            f"update raw set {q} = l.code from __labels l where l.col = $col and raw.{q} = l.label", {"col": col}
        )
    _translate_keys(con, project, header)


def _translate_keys(con, project: Project, header: list[str]) -> None:
    if "redcap_event_name" in header:
        values = {v for (v,) in con.execute("select distinct redcap_event_name from raw").fetchall() if v}
        _apply(con, "redcap_event_name", event_label_map(project, values))
    if "redcap_repeat_instrument" in header:
        values = {v for (v,) in con.execute("select distinct redcap_repeat_instrument from raw").fetchall() if v}
        forms = set(project.dictionary.forms)
        by_label = {_norm(project.form_label(f)): f for f in forms}
        by_label.update({re.sub(r"[^a-z0-9]+", "_", _norm(project.form_label(f))).strip("_"): f for f in forms})
        mapping = {}
        for v in values - forms:
            key = _norm(v)
            form = by_label.get(key) or by_label.get(re.sub(r"[^a-z0-9]+", "_", key).strip("_"))
            if form:
                mapping[v] = form
        _apply(con, "redcap_repeat_instrument", mapping)
    if "redcap_data_access_group" in header and project.dags:
        _apply(con, "redcap_data_access_group", project.dags)


def _apply(con, column: str, mapping: dict[str, str]) -> None:
    if not mapping:
        return
    con.execute("create or replace temp table __map (label varchar, code varchar)")
    con.executemany("insert into __map values (?, ?)", list(mapping.items()))
    q = quote_ident(column)
    con.execute(f"update raw set {q} = m.code from __map m where raw.{q} = m.label")


def map_label_header(header: list[str], project: Project) -> list[str] | None:
    """Map a UI label export's header (field labels) back to column names, in export order.

    Returns None when the first header cell is not the record-ID field's label.
    """
    dic = project.dictionary
    rid = dic.by_name[dic.record_id_field]
    if _norm(header[0]) != _norm(rid.label):
        return None
    candidates: list[tuple[str, str]] = []
    for form in dic.forms:
        candidates.append((f"{form}_timestamp", "survey timestamp"))
        for col in form_columns(dic, form):
            if col.kind == "bool" and col.field is not None:
                label = next(c.label for c in col.field.choices if c.code == col.code)
                candidates.append((col.name, f"{_norm(col.field.label)} (choice={_norm(label)})"))
            elif col.field is not None:
                candidates.append((col.name, _norm(col.field.label)))
            else:
                candidates.append((col.name, "complete?"))
    out = [dic.record_id_field]
    pos = 0
    for cell in header[1:]:
        key = _norm(cell)
        if key in PSEUDO_LABELS:
            out.append(PSEUDO_LABELS[key])
            continue
        for i in range(pos, len(candidates)):
            name, label = candidates[i]
            if label == key or (len(key) > 20 and label.startswith(key)):
                out.append(name)
                pos = i + 1
                break
        else:
            out.append(cell)  # left unmapped: reported as a column not in the dictionary
    return out
