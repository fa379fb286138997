"""REDCap calculated fields, recomputed in SQL (REDCap DQ rule H).

:func:`translate_calc` reads a calc field's formula from the dictionary and returns a
DuckDB expression over the form's row ``t`` plus the columns it reads. The gate compares
it with the stored value where every one of those columns has a value (where some are
blank, REDCap's ``sum()`` and ``+`` disagree, and the protocol totals are defined only when
all items are present).

Supported: ``[field]`` and ``[checkbox(code)]`` on the same form, numbers, ``+ - * /``,
parentheses, ``sum()``, ``mean()``, ``min()``, ``max()``, ``abs()`` and ``round(x, n)``.
Anything else raises :class:`CalcError`; the caller reports it as a warning.

>>> from registry.redcap.dictionary import Dictionary, Field
>>> d = Dictionary([Field("record_id", "f", "text"), Field("a", "f", "radio", choices_text="0, 0 | 1, 1"),
...                 Field("b", "f", "text", validation="integer")])
>>> translate_calc("sum([a],[b]) * 2", d, "f")
('((t."a" + t."b") * 2)', ['a', 'b'])
"""

from __future__ import annotations

import re

from registry.checks.branching import MAX_DEPTH
from registry.redcap.columns import form_columns
from registry.redcap.dictionary import Dictionary, checkbox_column
from registry.sqltext import quote_ident

_TOKEN_RE = re.compile(
    r"\s+|(?P<ref>\[[a-z][a-z0-9_]*(?:\([A-Za-z0-9_.-]+\))?\])|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<op>[-+*/(),])|(?P<word>[A-Za-z_]\w*)|(?P<other>.)"
)
_FUNCTIONS = {"sum", "mean", "min", "max", "abs", "round"}
_NUMERIC_KINDS = {"int", "double", "comma_double", "bool"}


class CalcError(ValueError):
    """A calculation the translator cannot recompute."""


def translate_calc(formula: str, dictionary: Dictionary, form: str) -> tuple[str, list[str]]:
    """The formula as SQL over ``t``, and the columns it reads (in order of first use)."""
    tokens = []
    for m in _TOKEN_RE.finditer(formula or ""):
        if m.lastgroup == "other":
            raise CalcError(f"cannot read {m.group()!r} in the formula")
        if m.lastgroup:
            tokens.append((m.lastgroup, m.group(m.lastgroup)))
    if not tokens:
        raise CalcError("the formula is empty")
    kinds = {c.name: c.kind for c in form_columns(dictionary, form)}
    parser = _Parser(tokens, kinds)
    sql = parser.expr()
    if parser.pos != len(tokens):
        raise CalcError(f"unexpected {tokens[parser.pos][1]!r} in the formula")
    return sql, parser.used


class _Parser:
    def __init__(self, tokens, kinds: dict[str, str]):
        self.tokens, self.pos, self.kinds, self.used = tokens, 0, kinds, []
        self.depth = 0

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self):
        if self.pos >= len(self.tokens):
            raise CalcError("the formula ends too early")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _expect(self, text: str) -> None:
        if self._take()[1] != text:
            raise CalcError(f"expected {text!r} in the formula")

    def expr(self) -> str:
        out = self.term()
        while self._peek() in {"+", "-"}:
            op = self._take()[1]
            out = f"({out} {op} {self.term()})"
        return out

    def term(self) -> str:
        out = self.factor()
        while self._peek() in {"*", "/"}:
            op = self._take()[1]
            right = self.factor()
            out = f"({out} {op} {right})" if op == "*" else f"({out} / nullif({right}, 0))"
        return out

    def factor(self) -> str:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise CalcError(f"the formula nests parentheses or signs more than {MAX_DEPTH} deep")
            return self._factor()
        finally:
            self.depth -= 1

    def _factor(self) -> str:
        kind, text = self._take()
        if text == "-":
            return f"(-{self.factor()})"
        if text == "(":
            inner = self.expr()
            self._expect(")")
            return inner
        if kind == "num":
            return text
        if kind == "ref":
            return self._ref(text)
        if kind == "word":
            return self._function(text.lower())
        raise CalcError(f"unexpected {text!r} in the formula")

    def _function(self, name: str) -> str:
        if name not in _FUNCTIONS or self._peek() != "(":
            raise CalcError(f"{name} is not a function the gate recomputes")
        self._take()
        args = [self.expr()]
        while self._peek() == ",":
            self._take()
            args.append(self.expr())
        self._expect(")")
        if name == "sum":
            return "(" + " + ".join(args) + ")"
        if name == "mean":
            return "((" + " + ".join(args) + f") / {len(args)})"
        if name in {"min", "max"}:
            return f"{'least' if name == 'min' else 'greatest'}({', '.join(args)})"
        if name == "abs" and len(args) == 1:
            return f"abs({args[0]})"
        if name == "round" and len(args) in {1, 2}:
            return f"round({', '.join(args)})"
        raise CalcError(f"{name}() with {len(args)} arguments")

    def _ref(self, text: str) -> str:
        m = re.match(r"^\[([a-z][a-z0-9_]*)(?:\(([^)]+)\))?\]$", text)
        name, code = m.groups()
        column = checkbox_column(name, code) if code else name
        kind = self.kinds.get(column)
        if kind is None:
            raise CalcError(f"{text} is not a field of this form")
        if kind not in _NUMERIC_KINDS:
            raise CalcError(f"{text} is not numeric")
        if column not in self.used:
            self.used.append(column)
        ref = f"t.{quote_ident(column)}"
        return f"cast({ref} as integer)" if kind == "bool" else ref
