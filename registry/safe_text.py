"""Values from an export shown where they could act: a terminal, a rich table, a spreadsheet, a report.

A record ID, DAG, file name or free-text value is data, never instructions:

- :func:`terminal` writes control characters (escape codes, carriage returns, bidi overrides)
  as visible escapes, so a file name cannot recolour, move the cursor or hide text;
- :func:`rich` also escapes rich markup (``[red]``, ``[/x]``) for a rich table or console;
- :func:`csv_cell` prefixes ``'`` to a text cell a spreadsheet would run as a formula (leading
  ``=``, ``+``, ``-``, ``@``, tab or CR, as OWASP advises), numbers untouched;
- :func:`markdown` escapes HTML in text that goes into ``report.md``.
"""

from __future__ import annotations

import html
import re
import unicodedata

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: object, keep_newlines: bool = True) -> str:
    """``text`` with every control or format character (but newlines) written as an escape.

    >>> terminal("export\\x1b[31m.csv")
    'export\\\\x1b[31m.csv'
    """
    out = []
    for ch in str(text):
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(_visible(ch))
        else:
            out.append(ch)
    return "".join(out)


def rich(text: object) -> str:
    """``text`` for a rich table cell or console line: no markup, no control characters.

    >>> rich("[red]x[/]")
    '\\\\[red]x\\\\[/]'
    """
    from rich.markup import escape

    return escape(terminal(text, keep_newlines=False))


def csv_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'``; anything else as is.

    >>> csv_cell('=HYPERLINK("http://x")'), csv_cell("-3.5"), csv_cell(-3.5), csv_cell("@SUM(A1)")
    ('\\'=HYPERLINK("http://x")', '-3.5', -3.5, "'@SUM(A1)")
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def markdown(text: object) -> str:
    """``text`` for report.md: HTML escaped, control characters visible."""
    return html.escape(terminal(text, keep_newlines=False), quote=True)
