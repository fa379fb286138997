"""The sentence a site coordinator reads for a finding.

One sentence, in the words of the data dictionary (field label, event label), with the value
where it may be shown and what is wrong with it, then what to do, e.g. "MADRS total 75 at
Week 8 is above the maximum 60: check the source document, then correct it in REDCap or
confirm it". The problem is read off the expectation itself (its bounds, allowed codes,
threshold), so study-specific checks get a sentence without extra wording; checks whose
logic is SQL say their ``meta.why``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from registry.checks.suites import Check

ACTION = "check the source document, then correct it in REDCap or confirm it"
_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")
MAX_CODES_LISTED = 12


@dataclass
class Labels:
    """field -> (label, field type, validation); unique event name -> event label."""

    fields: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)

    def field_label(self, name: str) -> str:
        base, _, code = name.partition("___")
        if base not in self.fields and base.endswith("_complete"):
            return f"The {base.removesuffix('_complete')} form"
        label = plain(self.fields[base][0]) if base in self.fields else name
        return f"{label} (choice {code})" if code else label

    def shown_value(self, name: str, value: str) -> str:
        """A date stored as a study day says so ("study day 52"); anything else as it is."""
        validation = self.fields.get(name, ("", "", ""))[2]
        if validation.startswith(("date", "datetime")) and value.lstrip("-").isdigit():
            return f"study day {value}"
        return value

    def event_label(self, event: str | None) -> str | None:
        return plain(self.events.get(event) or event) if event else None


def plain(text: str) -> str:
    """A dictionary label as plain text: no HTML tags or entities, one line."""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", str(text)))).strip()


def compose_query(field_name: str, rule: str, event: str | None, value: str | None, check: Check | None,
                  labels: Labels) -> str:
    """One sentence: what, where, with which value, what is wrong, what to do."""
    subject = labels.field_label(field_name)
    if value is not None:
        subject += f" {labels.shown_value(field_name, value)}"
    where = labels.event_label(event)
    if where:
        subject += f" at {where}"
    problem = _problem(rule, value, check)
    return f"{subject} {problem}: {ACTION}"


def _problem(rule: str, value: str | None, check: Check | None) -> str:
    if rule == "I":
        return "holds a missing-data code instead of a value; enter the value if it is known"
    if rule == "C":
        return "does not fit the field's validation type (the registry stores it as blank)"
    if rule == "H":
        return "differs from what its calculation gives from the other fields"
    if check is None:
        return f"was flagged by rule {rule}"
    k = check.kwargs
    kind = check.type
    if kind == "expect_column_values_to_be_between":
        return _out_of_range(value, k.get("min_value"), k.get("max_value"))
    if kind == "expect_column_values_to_be_in_set":
        codes = [str(c) for c in k.get("value_set") or []]
        listed = ", ".join(codes[:MAX_CODES_LISTED]) + (", …" if len(codes) > MAX_CODES_LISTED else "")
        return f"is not one of the field's codes ({listed})"
    if kind == "expect_column_values_to_not_be_in_set":
        return "is a value that is not allowed here"
    if kind == "expect_column_values_to_not_be_null":
        return "is blank although it is required here"
    if kind == "expect_column_values_to_be_null":
        return f"holds a value where none is expected ({_short(check.why)})"
    if kind == "expect_column_value_z_scores_to_be_less_than":
        return f"is {abs(float(k['threshold'])):g} or more standard deviations from the mean of all records"
    if kind in {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}:
        return "appears more than once for the same record, event and instance"
    if kind == "expect_column_values_to_be_in_type_list":
        return "is not stored with the type its field has"
    return f"does not pass the check that {_short(check.why)}"


def _out_of_range(value: str | None, low, high) -> str:
    number = _number(value)
    if number is not None and high is not None and number > float(high):
        return f"is above the maximum {_fmt(high)}"
    if number is not None and low is not None and number < float(low):
        return f"is below the minimum {_fmt(low)}"
    if low is not None and high is not None:
        return f"is outside {_fmt(low)} to {_fmt(high)}"
    return f"is above the maximum {_fmt(high)}" if high is not None else f"is below the minimum {_fmt(low)}"


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _fmt(bound) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def _short(why: str) -> str:
    text = plain(why or "").rstrip(".")
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text
