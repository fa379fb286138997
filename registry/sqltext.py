"""SQL text: the ``.sql`` files shipped beside the modules, identifier quoting, suite literals
and inserting Python rows in one statement.

The one place that reads SQL files and quotes identifiers, package-wide. SQL files hold
``${name}`` slots for identifiers only (quoted here) and for literals taken from suite
files (:func:`sql_literal`); values from the data are always bound parameters.

>>> quote_ident("madrs_1")
'"madrs_1"'
>>> print(quote_name('a "b" c'))
"a ""b"" c"
>>> render("select ${col} from t", col=quote_ident("x"))
'select "x" from t'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from importlib import resources

from registry.errors import IdentifierError

_IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLOT_RE = re.compile(r"\$\{(\w+)\}")


def read_sql(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>`` (``.sql`` added when ``name`` has no suffix)."""
    if not name.endswith(".sql"):
        name += ".sql"
    return resources.files(package).joinpath("sql", name).read_text("utf-8")


def reader(package: str) -> Callable[[str], str]:
    """``read_sql`` bound to one package: ``read_sql = sqltext.reader("registry.analysis")``."""
    return partial(read_sql, package)


def render(text: str, **slots: str) -> str:
    """``text`` with its ``${slot}`` placeholders filled; a missing slot is a ``KeyError``."""
    return _SLOT_RE.sub(lambda m: slots[m.group(1)], text)


def quote_ident(name: str) -> str:
    """``"name"`` for a table or column name shaped like a REDCap name; anything else is refused."""
    if not isinstance(name, str) or not _IDENT_RE.match(name):
        raise IdentifierError(f"'{name}' is not a valid REDCap variable name",
                              fix="REDCap names are lower-case letters, digits and '_'")
    return f'"{name}"'


def quote_name(name: str) -> str:
    """``"name"`` for any column name read from a file (a raw export header), quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value) -> str:
    """A SQL literal for a number, boolean, string or None taken from a suite file.

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


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Insert Python rows into a table in one statement (a list parameter per column,
    unnested; ``executemany`` runs the insert once per row)."""
    if not rows:
        return
    n = len(rows[0])
    columns = ", ".join(f"unnest(${i})" for i in range(1, n + 1))
    con.execute(f"insert into {table} select {columns}", [list(col) for col in zip(*rows, strict=True)])
