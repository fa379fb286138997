"""REDCap branching logic, translated for the gate.

A field with branching logic is *shown* only when its logic is true. The gate needs that
twice: a required field is required only when shown (REDCap DQ rule B), and a hidden field
must be blank (rule F). :func:`translate_logic` turns the logic into

- ``shown_sql``: a DuckDB boolean over the form's row ``t`` (and joined rows of other forms
  or events) that is never NULL, with REDCap's blank semantics (``[x] <> '1'`` is true when
  ``x`` is blank; ``[x] > 5`` is false);
- ``shown`` / ``hidden``: the same as Great Expectations 1.x row conditions (an OR of ANDs of
  column comparisons), when every field is on the same form and event, so that the check
  can be a plain GX expectation.

Supported syntax: ``[field]``, ``[field(code)]`` (checkbox), ``[event][field]``, string and
number literals, ``''`` for blank, ``=``, ``==``, ``<>``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
``and``/``or`` (also ``&&``/``||``) and parentheses. Anything else (functions, smart
variables, dates compared with literals) raises :class:`LogicError`; the caller reports it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from registry.redcap.columns import form_columns
from registry.redcap.dictionary import Dictionary, checkbox_column
from registry.sqltext import quote_ident, sql_literal

_TOKEN_RE = re.compile(
    r"\s+|(?P<ref>\[[^\]\[]*\])|(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op><>|!=|<=|>=|==|=|<|>)|(?P<lp>\()|(?P<rp>\))|(?P<logic>&&|\|\|)|(?P<word>[A-Za-z_]\w*)"
    r"|(?P<other>[,+*/:^%-])"
)
_REF_RE = re.compile(r"^\[([a-z][a-z0-9_]*)(?:\(([A-Za-z0-9_.-]+)\))?\]$")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
MAX_CONDITIONS = 100  # GX's limit on a row condition
MAX_DEPTH = 50  # parentheses nested deeper than this are refused, not recursed into


class LogicError(ValueError):
    """Branching logic the translator cannot read."""


@dataclass(frozen=True)
class Col:
    """A column a logic term refers to: which form and event it is read from."""

    column: str
    form: str
    kind: str
    event: str | None = None


@dataclass(frozen=True)
class Atom:
    """``column op value``, false when blank; or ``null`` / ``notnull``."""

    col: Col
    op: str
    value: object = None


@dataclass(frozen=True)
class ColCmp:
    """Two columns compared (SQL only)."""

    left: Col
    op: str
    right: Col


@dataclass(frozen=True)
class Visibility:
    """When a field is shown, as SQL over ``t`` (plus ``joins``) and as GX row conditions."""

    shown_sql: str
    joins: str
    shown: dict | None
    hidden: dict | None


def translate_logic(logic: str, dictionary: Dictionary, form: str) -> Visibility:
    """Translate the branching logic of a field on ``form``.

    >>> from registry.redcap.dictionary import Field
    >>> d = Dictionary([Field("record_id", "f", "text"), Field("relapse_event", "f", "yesno"),
    ...                 Field("relapse_date", "f", "text", validation="date_ymd")])
    >>> v = translate_logic("[relapse_event] = '1'", d, "f")
    >>> v.shown_sql
    '(t."relapse_event" is not null and t."relapse_event" = 1)'
    >>> v.shown["operator"], v.shown["parameter"]
    ('==', 1)
    """
    tokens = _tokens(logic)
    check_depth([text for _, text in tokens], LogicError)
    tree = _Parser(tokens, _columns(dictionary), dictionary).parse()
    joins: dict[tuple[str | None, str], str] = {}
    shown_sql = _sql(tree, form, joins)
    join_sql = "\n".join(
        _join_sql(alias, event, other) for (event, other), alias in joins.items()
    )
    local = all(c.form == form and c.event is None for c in _cols(tree)) and not _has_colcmp(tree)
    shown = hidden = None
    if local:
        shown, hidden = _condition(_dnf(tree)), _condition(_dnf(("not", tree)))
    return Visibility(shown_sql=shown_sql, joins=join_sql, shown=shown, hidden=hidden)


def check_depth(tokens: list[str], error: type[ValueError]) -> None:
    """Refuse parentheses nested more than :data:`MAX_DEPTH` deep (the parsers recurse on them)."""
    depth = deepest = 0
    for text in tokens:
        depth += (text == "(") - (text == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise error(f"parentheses are nested {deepest} deep (more than {MAX_DEPTH})")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise LogicError(f"cannot read {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.lastgroup:
            out.append((m.lastgroup, m.group(m.lastgroup)))
    return out


def _columns(dictionary: Dictionary) -> dict[str, Col]:
    cols = {}
    for form in dictionary.forms:
        for c in form_columns(dictionary, form):
            cols[c.name] = Col(c.name, form, c.kind)
    return cols


class _Parser:
    def __init__(self, tokens, columns: dict[str, Col], dictionary: Dictionary):
        self.tokens, self.pos, self.columns, self.dictionary = tokens, 0, columns, dictionary

    def parse(self):
        if not self.tokens:
            raise LogicError("the logic is empty")
        node = self._or()
        if self.pos != len(self.tokens):
            raise LogicError(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def _peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def _take(self):
        tok = self._peek()
        self.pos += 1
        return tok

    def _is(self, word: str, symbol: str) -> bool:
        kind, text = self._peek()
        return (kind == "word" and text.lower() == word) or (kind == "logic" and text == symbol)

    def _or(self):
        items = [self._and()]
        while self._is("or", "||"):
            self._take()
            items.append(self._and())
        return items[0] if len(items) == 1 else ("or", items)

    def _and(self):
        items = [self._term()]
        while self._is("and", "&&"):
            self._take()
            items.append(self._term())
        return items[0] if len(items) == 1 else ("and", items)

    def _term(self):
        if self._peek()[0] == "lp":
            self._take()
            node = self._or()
            if self._take()[0] != "rp":
                raise LogicError("a parenthesis is not closed")
            return node
        left = self._operand()
        kind, op = self._take()
        if kind != "op":
            raise LogicError(f"expected a comparison after {left!r}")
        right = self._operand()
        op = {"==": "=", "!=": "<>"}.get(op, op)
        if not isinstance(left, Col):
            left, right, op = right, left, _FLIP[op]
        return _compare(left, op, right)

    def _operand(self):
        kind, text = self._take()
        if kind == "word" and self._peek()[0] == "lp":
            raise LogicError(f"the function {text}() is not supported")
        if kind in {"str", "num"}:
            return text[1:-1] if kind == "str" else text
        if kind != "ref":
            raise LogicError(f"cannot read {text!r}" if text else "the logic ends too early")
        event = None
        if self._peek()[0] == "ref":  # [event][field]
            event = text[1:-1]
            if not re.match(r"^[a-z][a-z0-9_]*$", event):
                raise LogicError(f"{text} is not an event name")
            text = self._take()[1]
        m = _REF_RE.match(text)
        if not m:
            raise LogicError(f"{text} is not a field reference this translator reads")
        name, code = m.groups()
        f = self.dictionary.by_name.get(name)
        if f is None:
            raise LogicError(f"{text} is not a field of the dictionary")
        if (f.field_type == "checkbox") != (code is not None):
            raise LogicError(f"{text}: checkbox fields are written [field(code)], other fields [field]")
        column = checkbox_column(name, code) if code is not None else name
        if column not in self.columns:
            raise LogicError(f"{text} is not a choice of {name}")
        col = self.columns[column]
        return Col(col.column, col.form, col.kind, event)


def _compare(col: Col, op: str, right):
    if isinstance(right, Col):
        if col.kind == "bool" or right.kind == "bool":
            raise LogicError("checkboxes compared with fields")
        return ColCmp(col, op, right)
    if col.kind == "bool":
        if op not in {"=", "<>"} or right not in {"0", "1"}:
            raise LogicError(f"checkbox {col.column} compared with {right!r}")
        checked = (right == "1") == (op == "=")
        return Atom(col, "==", True) if checked else ("or", [Atom(col, "==", False), Atom(col, "null")])
    if right == "":
        if op not in {"=", "<>"}:
            raise LogicError(f"{col.column} compared with a blank by {op}")
        return Atom(col, "null" if op == "=" else "notnull")
    value = _typed(col, right)
    if op == "=":
        return Atom(col, "==", value)
    if op == "<>":
        return ("or", [Atom(col, "!=", value), Atom(col, "null")])
    return Atom(col, op, value)


def _typed(col: Col, text: str):
    if col.kind in {"date", "datetime", "time"}:
        raise LogicError(f"{col.column} is a date or time compared with a literal")
    if col.kind == "text":
        return text
    try:
        number = float(text)
    except ValueError:
        raise LogicError(f"{col.column} is numeric but compared with {text!r}") from None
    return int(number) if number.is_integer() and col.kind == "int" else number


def _cols(node):
    if isinstance(node, Atom):
        yield node.col
    elif isinstance(node, ColCmp):
        yield node.left
        yield node.right
    else:
        for item in (node[1] if node[0] != "not" else [node[1]]):
            yield from _cols(item)


def _has_colcmp(node) -> bool:
    if isinstance(node, ColCmp):
        return True
    if isinstance(node, Atom):
        return False
    return any(_has_colcmp(i) for i in (node[1] if node[0] != "not" else [node[1]]))


def _ref_sql(col: Col, form: str, joins: dict) -> str:
    if col.form == form and col.event is None:
        return f"t.{quote_ident(col.column)}"
    alias = joins.setdefault((col.event, col.form), f"j{len(joins) + 1}")
    return f"{alias}.{quote_ident(col.column)}"


def _sql(node, form: str, joins: dict) -> str:
    if isinstance(node, Atom):
        x = _ref_sql(node.col, form, joins)
        if node.op == "null":
            return f"{x} is null"
        if node.op == "notnull":
            return f"{x} is not null"
        op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
        return f"({x} is not null and {x} {op} {sql_literal(node.value)})"
    if isinstance(node, ColCmp):
        a, b = _ref_sql(node.left, form, joins), _ref_sql(node.right, form, joins)
        if node.op in {"=", "<>"}:
            return f"({a} is {'not ' if node.op == '=' else ''}distinct from {b})"
        return f"coalesce({a} {node.op} {b}, false)"
    if node[0] == "not":
        return f"not ({_sql(node[1], form, joins)})"
    return "(" + f" {node[0]} ".join(_sql(i, form, joins) for i in node[1]) + ")"


def _join_sql(alias: str, event: str | None, form: str) -> str:
    table = quote_ident(form)
    if event is None:
        instance = f"{alias}.redcap_repeat_instance"
        on = (f"{alias}.redcap_event_name is not distinct from t.redcap_event_name and "
              f"({instance} is null or {instance} = t.redcap_repeat_instance)")
    else:
        on = f"{alias}.redcap_event_name = {sql_literal(event)} and {alias}.redcap_repeat_instance is null"
    return f"left join {table} as {alias} on {alias}.record_id = t.record_id and {on}"


def _negate(node):
    if isinstance(node, Atom):
        if node.op == "null":
            return Atom(node.col, "notnull")
        if node.op == "notnull":
            return Atom(node.col, "null")
        return ("or", [Atom(node.col, _NEGATE[node.op], node.value), Atom(node.col, "null")])
    if node[0] == "not":
        return node[1]
    return ("or" if node[0] == "and" else "and", [("not", i) for i in node[1]])


def _dnf(node) -> list[frozenset]:
    if isinstance(node, Atom):
        return [frozenset([node])]
    if node[0] == "not":
        return _dnf(_negate(node[1]))
    parts = [_dnf(i) for i in node[1]]
    if node[0] == "or":
        terms = [t for p in parts for t in p]
    else:
        terms = [frozenset().union(*combo) for combo in itertools.product(*parts)]
    out: list[frozenset] = []
    for term in terms:
        term = _simplify(term)
        if term is not None and term not in out:
            out.append(term)
    return out


def _simplify(term: frozenset) -> frozenset | None:
    by_col: dict[Col, list[Atom]] = {}
    for a in term:
        by_col.setdefault(a.col, []).append(a)
    keep = []
    for atoms in by_col.values():
        ops = {a.op for a in atoms}
        compares = [a for a in atoms if a.op not in {"null", "notnull"}]
        if "null" in ops and (compares or "notnull" in ops):
            return None  # blank and not blank: never true
        equals = {a.value for a in compares if a.op == "=="}
        if len(equals) > 1 or any(a.op == "!=" and a.value in equals for a in compares):
            return None
        keep.extend(a for a in atoms if not (a.op == "notnull" and compares))
    return frozenset(keep)


def _condition(terms: list[frozenset]) -> dict | None:
    if not terms or sum(len(t) for t in terms) > MAX_CONDITIONS:
        return None
    dicts = [[_atom_condition(a) for a in sorted(t, key=repr)] for t in terms]
    ands = [d[0] if len(d) == 1 else {"type": "and", "conditions": d} for d in dicts]
    return ands[0] if len(ands) == 1 else {"type": "or", "conditions": ands}


def _atom_condition(a: Atom) -> dict:
    column = {"name": a.col.column}
    if a.op in {"null", "notnull"}:
        return {"type": "nullity", "column": column, "is_null": a.op == "null"}
    return {"type": "comparison", "column": column, "operator": a.op, "parameter": a.value}
