"""Reading a TOML table with typed access and errors that name the file, key and fix.

Used by :mod:`registry.analysis.plan`: every value is read through :meth:`TomlTable.get`
(type and choice checks), and :meth:`TomlTable.done` rejects keys that were never read,
so a misspelt key fails loudly instead of silently falling back to a default.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from registry.errors import PlanError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class TomlTable:
    """A TOML table being read: typed access, and a check that no key is left unread.

    Parameters
    ----------
    path : Path
        The file, for error messages.
    name : str
        The table's dotted name in the file (e.g. ``relapse.clinician``).
    data : Any
        The parsed value; anything but a dict raises :class:`PlanError`.
    """

    def __init__(self, path: Path, name: str, data: Any):
        self.path, self.name = path, name
        if not isinstance(data, dict):
            self.fail("", f"[{name}] must be a table", f"write it as `[{name}]` or `{name} = {{ ... }}`")
        self.data, self.seen = data, set()

    def dotted(self, key: str) -> str:
        """``table.key`` (just ``key`` at the top level)."""
        return f"{self.name}.{key}" if self.name else key

    @property
    def label(self) -> str:
        return f"[{self.name}]" if self.name else "the top level of the file"

    def fail(self, key: str, what: str, fix: str) -> None:
        """Raise :class:`PlanError` naming the file and the key."""
        where = f"{self.path}: key `{self.dotted(key)}`" if key else f"{self.path}: `{self.name}`"
        raise PlanError(what, where=where, fix=fix)

    def get(self, key: str, kind: type | tuple, default: Any = ..., choices: tuple = ()) -> Any:
        """The value of ``key``, checked against ``kind`` and ``choices``; ``default`` if absent
        (no default: the key is required)."""
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                close = difflib.get_close_matches(key, [k for k in self.data if k != key], n=1, cutoff=0.8)
                hint = f" (is `{close[0]}` a misspelling?)" if close else ""
                what = f"missing {'table' if kind is dict else 'key'} `{key}`{hint}"
                fix = (
                    f"add a `[{self.dotted(key)}]` table"
                    if kind is dict
                    else f"add `{key} = ...` to {self.label}"
                ) + ", as in schemas/analysis_plan.toml"
                self.fail(key, what, fix)
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            self.fail(key, f"`{key}` must be {names}, not {value!r}", f"set `{key}` to a {names}")
        if choices and value not in choices:
            self.fail(
                key,
                f"`{key}` = {value!r} is not one of {', '.join(map(str, choices))}",
                f"set `{key}` to one of {', '.join(map(repr, choices))}",
            )
        return value

    def name_(self, key: str, default: Any = ...) -> str:
        """A REDCap name (lower-case letters, digits, underscores)."""
        value = self.get(key, str, default)
        if value is not None and not NAME_RE.match(value):
            self.fail(
                key,
                f"`{key}` = {value!r} is not a REDCap name",
                "use the lower-case field, form or event name exactly as in the data dictionary",
            )
        return value

    def table(self, key: str, default: Any = ...) -> TomlTable:
        """The sub-table ``key``."""
        return TomlTable(self.path, self.dotted(key), self.get(key, dict, default))

    def done(self) -> None:
        """Refuse keys that were never read (misspelt or unsupported)."""
        extra = sorted(set(self.data) - self.seen)
        if extra:
            self.fail(
                extra[0],
                f"unknown key `{extra[0]}` in {self.label}",
                "check its spelling against schemas/analysis_plan.toml, or remove it",
            )


def probability(t: TomlTable, key: str, default: Any = ...) -> float:
    """A number strictly between 0 and 1 (alpha, confidence, power)."""
    value = float(t.get(key, (int, float), default))
    if not 0 < value < 1:
        t.fail(key, f"`{key}` = {value} is not between 0 and 1", f"set `{key}` to e.g. 0.05")
    return value
