"""REDCap branching logic translated to SQL and to GX row conditions, with REDCap's blank rules."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from registry.checks.branching import LogicError, translate_logic
from registry.checks.build import build_suites
from registry.checks.compile import condition_sql
from registry.redcap.dictionary import parse_dictionary

HEADER = ("field_name,form_name,field_type,select_choices_or_calculations,"
          "text_validation_type_or_show_slider_number")


def dictionary(*rows: str):
    return parse_dictionary("\n".join([HEADER, *rows]).encode())


DICTIONARY = dictionary(
    "record_id,visit,text,,",
    'status,visit,radio,"1, Done | 2, Stopped | 3, Lost",',
    "taken,visit,yesno,,",
    "score,visit,text,,integer",
    'kind,visit,radio,"a, A | b, B",',
    'race,visit,checkbox,"1, One | 2, Two | -99, Unknown",',
    "visit_date,visit,text,,date_ymd",
    "reason,visit,notes,,",
    "age,intake,text,,integer",
)
Row = tuple  # status, taken, score, kind, race___1, race___2, race____99


def table(rows: list[Row]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table visit (record_id varchar, redcap_event_name varchar, redcap_repeat_instance integer, "
        "status bigint, taken bigint, score bigint, kind varchar, race___1 boolean, race___2 boolean, "
        "race____99 boolean, visit_date integer, reason varchar)"
    )
    con.executemany(
        "insert into visit values (?, 'week_1', null, ?, ?, ?, ?, ?, ?, ?, 0, null)",
        [(f"R{i}", *r) for i, r in enumerate(rows)],
    )
    con.execute("create table intake (record_id varchar, redcap_event_name varchar, "
                "redcap_repeat_instance integer, age bigint)")
    return con


def shown_records(logic: str, rows: list[Row], con=None) -> list[str]:
    v = translate_logic(logic, DICTIONARY, "visit")
    con = con or table(rows)
    sql = f"select t.record_id from visit as t {v.joins} where {v.shown_sql} order by 1"
    return [r[0] for r in con.execute(sql).fetchall()]


ROWS = [
    (1, 1, 10, "a", True, False, False),
    (2, 0, 30, "b", False, True, False),
    (None, None, None, None, False, False, False),
    (3, 1, 5, "a", None, None, None),
]


def test_an_equality_becomes_sql_and_a_gx_row_condition():
    v = translate_logic("[taken] = '1'", DICTIONARY, "visit")
    assert v.shown == {"type": "comparison", "column": {"name": "taken"}, "operator": "==", "parameter": 1}
    assert shown_records("[taken] = '1'", ROWS) == ["R0", "R3"]


def test_not_equal_is_true_on_a_blank_as_in_redcap():
    assert shown_records("[status] <> '1'", ROWS) == ["R1", "R2", "R3"]
    assert shown_records("[status] != '1'", ROWS) == ["R1", "R2", "R3"]


def test_comparisons_with_a_number_are_false_on_a_blank():
    assert shown_records("[score] > 8", ROWS) == ["R0", "R1"]
    assert shown_records("[score] <= 10", ROWS) == ["R0", "R3"]


def test_a_blank_literal_asks_whether_the_field_is_blank():
    assert shown_records("[score] = ''", ROWS) == ["R2"]
    assert shown_records("[score] <> ''", ROWS) == ["R0", "R1", "R3"]


def test_checkbox_references_read_the_choice_column_and_unticked_includes_blank():
    assert shown_records("[race(1)] = '1'", ROWS) == ["R0"]
    assert shown_records("[race(1)] = '0'", ROWS) == ["R1", "R2", "R3"]
    assert shown_records("[race(-99)] <> '1'", ROWS) == ["R0", "R1", "R2", "R3"]


def test_and_binds_tighter_than_or_and_parentheses_override_it():
    assert shown_records("[status] = '2' or [taken] = '1' and [score] > 8", ROWS) == ["R0", "R1"]
    assert shown_records("([status] = '2' or [taken] = '1') and [score] > 8", ROWS) == ["R0", "R1"]
    assert shown_records("([status] = '3' or [taken] = '1') and [score] < 8", ROWS) == ["R3"]
    assert shown_records("[status] = '3' OR [kind] = 'b' && [score] > 20", ROWS) == ["R1", "R3"]


def test_text_codes_compare_as_text_and_literals_may_come_first():
    assert shown_records("[kind] = 'a'", ROWS) == ["R0", "R3"]
    assert shown_records("'2' = [status]", ROWS) == ["R1"]
    assert shown_records("10 < [score]", ROWS) == ["R1"]


def test_fields_of_another_form_are_read_from_the_same_event():
    con = table(ROWS)
    con.execute("insert into intake values ('R0', 'week_1', null, 70), ('R1', 'week_2', null, 80)")
    assert shown_records("[age] >= 65", ROWS, con) == ["R0"]
    assert translate_logic("[age] >= 65", DICTIONARY, "visit").shown is None  # SQL only


def test_an_event_prefix_reads_the_field_at_that_event():
    con = table(ROWS)
    con.execute("insert into intake values ('R0', 'baseline', null, 70), ('R1', 'baseline', null, 50)")
    assert shown_records("[baseline][age] >= 65", ROWS, con) == ["R0"]
    assert shown_records("[baseline][status] = '1'", ROWS, con) == []


def test_two_fields_can_be_compared_in_sql():
    con = table(ROWS)
    assert shown_records("[score] > [taken]", ROWS, con) == ["R0", "R1", "R3"]
    assert shown_records("[score] = [taken]", ROWS, con) == ["R2"]


@pytest.mark.parametrize("logic", [
    "datediff([visit_date], 'today', 'd') > 30",
    "[event-name] = 'week_1'",
    "[nosuchfield] = '1'",
    "[visit_date] > '2020-01-01'",
    "[score] = 'high'",
    "([status] = '1'",
    "[status] = '1' and",
    "[race] = '1'",
    "[status(1)] = '1'",
    "[race(7)] = '1'",
    "[race(1)] > '0'",
    "[status]",
    "",
])
def test_logic_the_translator_cannot_read_raises_a_logic_error(logic):
    with pytest.raises(LogicError):
        translate_logic(logic, DICTIONARY, "visit")


LOGICS = [
    "[taken] = '1'",
    "[status] = '2' or [status] = '3'",
    "[status] <> '1' and [score] >= 10",
    "[race(2)] = '1' or ([kind] = 'a' and [score] < 8)",
    "[score] = '' or [kind] <> 'b'",
]
GRID = list(itertools.product([None, 1, 2, 3], [None, 0, 1], [None, 5, 10, 30], [None, "a", "b"],
                              [None, False, True], [False, True], [False]))


@pytest.mark.parametrize("logic", LOGICS)
def test_the_gx_conditions_select_exactly_the_shown_and_the_hidden_rows(logic):
    v = translate_logic(logic, DICTIONARY, "visit")
    con = table(GRID)

    def records(where: str, params: list) -> set[str]:
        sql = f"select t.record_id from visit as t where {where}"
        return {r[0] for r in con.execute(sql, params).fetchall()}

    everyone = records("true", [])
    shown = records(v.shown_sql, [])
    params: list = []
    assert records(condition_sql(v.shown, params), params) == shown
    params = []
    assert records(condition_sql(v.hidden, params), params) == everyone - shown


def test_unreadable_branching_logic_becomes_a_warning_naming_the_field():
    header = HEADER + ",branching_logic,required_field"
    dic = parse_dictionary("\n".join([
        header, "record_id,visit,text,,,,", "done,visit,yesno,,,,",
        "note,visit,notes,,,\"datediff([done], 'today', 'd') > 3\",y",
    ]).encode())
    suite = build_suites(dic)["visit"]
    logic = [e for e in suite["expectations"] if e["meta"]["rule"] == "LOGIC"]
    assert len(logic) == 1
    assert logic[0]["meta"]["field"] == "note" and logic[0]["meta"]["severity"] == "warning"
    assert "datediff" in logic[0]["meta"]["why"]
    assert not [e for e in suite["expectations"] if e["meta"]["rule"] in {"B", "F"}]
