"""Typed errors. Each says what is wrong, where, and how to fix it.

The CLI catches :class:`RegistryError` only, prints ``str(error)`` to stderr and exits
non-zero. Anything else is a bug.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: ``what`` went wrong, ``where`` (file, line, record, field), ``fix``."""

    exit_code = 2

    def __init__(self, what: str, where: str = "", fix: str = ""):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.__str__())

    def __str__(self) -> str:
        lines = [f"error: {self.what}"]
        if self.where:
            lines.append(f"  where: {self.where}")
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class InputFileError(RegistryError):
    """The file cannot be read at all (missing, empty, binary, undecodable)."""


class CsvFormatError(RegistryError):
    """The CSV is malformed (unterminated quote, ragged row)."""


class DictionaryError(RegistryError):
    """The REDCap data dictionary is unusable."""


class ExportError(RegistryError):
    """The export does not fit its project (columns, events, keys)."""


class PhiError(RegistryError):
    """Suspected identifiers in the data; nothing was stored."""


class RegistryBusyError(RegistryError):
    """Another process holds the registry."""

    exit_code = 3


class RegistryStateError(RegistryError):
    """The registry has no such batch, is empty, or is otherwise not ready."""


class ChecksError(RegistryError):
    """An expectation suite in checks/ is malformed or stale."""


class PlanError(RegistryError):
    """The analysis plan is malformed, changed since locked, or does not fit the data."""


class WorkspaceError(RegistryError):
    """A workspace (registry.toml) is malformed, or ``registry init`` would overwrite one."""


class OutputError(RegistryError):
    """An output (report, results, export) cannot be written where it was asked for; nothing was written."""


class GateError(RegistryError):
    """The current batch did not pass the data-quality gate."""

    exit_code = 1


class QueryAnswerError(RegistryError):
    """A filled-in query sheet cannot be recorded (unknown query, bad response, changed key)."""


class DiskFullError(RegistryError):
    """The disk filled up while writing; the registry and earlier outputs are as they were."""


def disk_full(exc: BaseException, where: str = "") -> DiskFullError | None:
    """``exc`` as a :class:`DiskFullError` when it is "no space left on device", else None.

    Recognises an ``OSError`` with ``errno.ENOSPC`` (or EDQUOT) and a DuckDB error saying so.
    """
    import errno
    import re

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = exc.filename or where
    elif not re.search(r"no space left on device|disk quota exceeded", str(exc), re.IGNORECASE):
        return None
    else:
        path = re.search(r"""["']((?:/|[A-Za-z]:)[^"']+)["']""", str(exc))
        where = path.group(1) if path else where
    return DiskFullError("no space left on device: nothing was written (the registry and earlier outputs "
                         "are as they were)", where=str(where),
                         fix="free some space on that disk (or write to another with --db / --out) and run "
                             "the command again")


class IdentifierError(DictionaryError, ValueError):
    """A table or column name is not shaped like a REDCap name, so it is never put into SQL."""
