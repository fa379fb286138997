"""SQL text for the gate: the ``.sql`` templates next to this module, identifiers and literals.

Templates hold ``${name}`` slots for identifiers only (quoted with :func:`quote_ident`,
which accepts REDCap-shaped names and nothing else) and for literals rendered by
:func:`sql_literal` from suite data; values from the data are always bound parameters.
"""

from __future__ import annotations

import re
from importlib import resources

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLOT_RE = re.compile(r"\$\{(\w+)\}")


def read_sql(name: str) -> str:
    """The text of ``registry/checks/sql/<name>``."""
    return resources.files("registry.checks").joinpath("sql", name).read_text()


def render_sql(name: str, **slots: str) -> str:
    """A template with its ``${slot}`` placeholders filled; a missing slot is an error.

    >>> "where" in render_sql("hidden_value.sql", field="'x'", shown="true", joins="", column='t."x"')
    True
    """
    text = read_sql(name)
    return _SLOT_RE.sub(lambda m: slots[m.group(1)], text)


def quote_ident(name: str) -> str:
    """``"name"`` for a table or column name shaped like a REDCap name.

    >>> quote_ident("madrs_1")
    '"madrs_1"'
    """
    if not isinstance(name, str) or not _IDENT_RE.match(name):
        raise ValueError(f"not a valid table or column name: {name!r}")
    return f'"{name}"'


def sql_literal(value) -> str:
    """A SQL literal for a number, boolean, string or None taken from a suite.

    >>> sql_literal("it's"), sql_literal(3), sql_literal(2.5), sql_literal(True), sql_literal(None)
    ("'it''s'", '3', '2.5', 'true', 'null')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
