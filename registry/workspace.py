"""Workspaces: a folder that holds one registry with its project, plan and checks.

``registry init`` writes ``registry.toml`` (see :mod:`registry.scaffold`). Every command looks
for it in the current folder, then in each parent (as git looks for ``.git``); the options
given on the command line override what it says. With no workspace, commands use the
toolkit's own project, ``$REGISTRY_DB`` or ``./registry.duckdb``, and ``./checks`` or
``./schemas/analysis_plan.toml`` when present, else the ones the package ships.

``registry.toml``::

    [project]
    builtin = false                       # true: the toolkit's own registry project
    name = "my_study"
    dictionary = "project/dictionary.csv" # copied in by registry init; paths are relative
    events = "project/events.csv"         # to the folder of registry.toml (all optional
    mapping = "project/mapping.csv"       # but the dictionary)
    repeating = "project/repeating.csv"
    # study_day_anchor = "date_enrolled"  # optional: the date field that is day 0
    # missing_codes = ["NA", "UNK"]       # optional: the project's missing-data codes

    [files]
    plan = "plan.toml"
    checks = "checks"
    registry = "registry.duckdb"
    reports = "reports"
    exports = "exports"
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from registry.errors import WorkspaceError

CONFIG = "registry.toml"
PROJECT_FILES = ("dictionary", "events", "mapping", "repeating")
FILES = {"plan": "plan.toml", "checks": "checks", "registry": "registry.duckdb", "reports": "reports",
         "exports": "exports"}


@dataclass(frozen=True)
class Workspace:
    """A parsed ``registry.toml``; every path is absolute."""

    root: Path
    builtin: bool
    name: str
    dictionary: Path | None
    events: Path | None
    mapping: Path | None
    repeating: Path | None
    study_day_anchor: str | None
    missing_codes: tuple[str, ...] | None
    plan: Path
    checks: Path
    registry: Path
    reports: Path
    exports: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG


def find_workspace(start: str | Path | None = None) -> Workspace | None:
    """The workspace whose ``registry.toml`` is in ``start`` (default: the cwd) or a parent."""
    here = Path(start or os.getcwd()).absolute()
    for folder in (here, *here.parents):
        if (folder / CONFIG).is_file():
            return read_workspace(folder / CONFIG)
    return None


def read_workspace(config: str | Path) -> Workspace:
    """Read and check ``registry.toml``; raises :class:`WorkspaceError` naming the key and the fix."""
    config = Path(config).absolute()
    where = str(config)
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkspaceError(f"cannot read the workspace file: {exc.strerror}", where=where,
                             fix="check the file's permissions") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WorkspaceError(f"the workspace file is not valid TOML: {exc}", where=where,
                             fix="fix its syntax (https://toml.io), or write a new one with registry init") from None
    project, files = _table(data, "project", where), _table(data, "files", where)
    _known(data, {"project", "files"}, "", where)
    _known(project, {"builtin", "name", *PROJECT_FILES, "study_day_anchor", "missing_codes"}, "project.", where)
    _known(files, set(FILES), "files.", where)
    root = config.parent

    def path(table: dict, key: str, prefix: str, default: str | None) -> Path | None:
        value = table.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise WorkspaceError(f"`{prefix}{key}` is not a path", where=where,
                                 fix=f'write it as a quoted path relative to {root}, e.g. {key} = "{default or key}"')
        return root / value

    builtin = project.get("builtin", False)
    if not isinstance(builtin, bool):
        raise WorkspaceError("`project.builtin` is not true or false", where=where,
                             fix="write builtin = true (the toolkit's own project) or builtin = false")
    paths = {k: path(project, k, "project.", None) for k in PROJECT_FILES}
    if builtin and any(paths.values()):
        raise WorkspaceError("the project is both built-in and given by files", where=where,
                             fix="remove `builtin = true`, or the project's file names")
    if not builtin and paths["dictionary"] is None:
        raise WorkspaceError("the workspace names no project: no `project.dictionary`", where=where,
                             fix='add dictionary = "project/dictionary.csv", or builtin = true for the '
                                 "toolkit's own project")
    for key, value in paths.items():
        if value is not None and not value.is_file():
            raise WorkspaceError(f"the project's {key} file {value} is missing", where=f"{where}: project.{key}",
                                 fix="put the file back, or correct the path in registry.toml")
    anchor = project.get("study_day_anchor")
    codes = project.get("missing_codes")
    if anchor is not None and not isinstance(anchor, str):
        raise WorkspaceError("`project.study_day_anchor` is not a field name", where=where,
                             fix='write e.g. study_day_anchor = "date_enrolled"')
    if codes is not None and not (isinstance(codes, list) and all(isinstance(c, str) for c in codes)):
        raise WorkspaceError("`project.missing_codes` is not a list of codes", where=where,
                             fix='write e.g. missing_codes = ["NA", "UNK"]')
    return Workspace(
        root=root,
        builtin=builtin,
        name=str(project.get("name") or root.name),
        study_day_anchor=anchor,
        missing_codes=tuple(codes) if codes is not None else None,
        **paths,
        **{k: path(files, k, "files.", v) for k, v in FILES.items()},
    )


def _table(data: dict, key: str, where: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise WorkspaceError(f"`{key}` is not a table", where=where, fix=f"write it as a [{key}] section")
    return value


def _known(table: dict, keys: set[str], prefix: str, where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise WorkspaceError(f"unknown key `{prefix}{unknown[0]}` in the workspace file", where=where,
                             fix=f"use only {', '.join(prefix + k for k in sorted(keys))}")


# --- what a command uses: the workspace, overridden by options --------------------------------
def db_path(option: str | Path | None, ws: Workspace | None) -> Path:
    """``--db``, else ``$REGISTRY_DB``, else the workspace's registry, else ``./registry.duckdb``."""
    from registry.store import DEFAULT_DB

    if option or os.environ.get("REGISTRY_DB"):
        return Path(option or os.environ["REGISTRY_DB"])
    return ws.registry if ws else Path(DEFAULT_DB)


def plan_path(option: str | Path | None, ws: Workspace | None) -> Path:
    """``--plan``, else the workspace's plan, else the default plan."""
    from registry.analysis.plan import default_plan_path

    if option is not None:
        return Path(option)
    return ws.plan if ws else default_plan_path()


def checks_dir(option: str | Path | None, ws: Workspace | None) -> Path:
    """``--checks``, else the workspace's checks, else the default checks."""
    from registry.checks.gate import default_checks_dir

    if option is not None:
        return Path(option)
    return ws.checks if ws else default_checks_dir()


def project_files(ws: Workspace | None, **options: Path | None) -> dict[str, Path | None]:
    """The project's dictionary, events, mapping, repeating: each option, else the workspace's.

    A ``--dictionary`` given on the command line names another project: then the workspace's
    other files do not apply. All None means the built-in project (or an ODM file's own).
    """
    if options.get("dictionary") is not None or ws is None or ws.builtin:
        return {k: options.get(k) for k in PROJECT_FILES}
    return {k: options.get(k) or getattr(ws, k) for k in PROJECT_FILES}


def output_root(kind: str, db: Path, ws: Workspace | None) -> Path:
    """Where ``kind`` ("reports" or "exports") of the registry ``db`` go, one folder per batch
    below it: the workspace's folder when ``db`` is its registry, else beside the registry file."""
    from registry.outputs import beside_registry

    if ws is not None and Path(db).absolute() == ws.registry.absolute():
        return getattr(ws, kind)
    return beside_registry(kind, db)


def load_project(ws: Workspace | None, export: Path | None = None, *, encoding: str | None = None,
                 missing_codes: tuple[str, ...] | None = None, study_day_anchor: str | None = None,
                 **files: Path | None):
    """The REDCap project an export is read with.

    The files given as options (``dictionary``, ``events``, ``mapping``, ``repeating``), else the
    workspace's project; with neither, a whole-project ODM ``export`` brings its own, and
    anything else is read as the toolkit's own project.
    """
    from registry.redcap import project as projects
    from registry.redcap.odm import apply_options, is_odm_file, read_odm_project

    chosen = project_files(ws, **files)
    from_ws = ws is not None and not ws.builtin and files.get("dictionary") is None
    if from_ws:
        missing_codes = missing_codes if missing_codes is not None else ws.missing_codes
        study_day_anchor = study_day_anchor or ws.study_day_anchor
    if chosen["dictionary"] is None and export is not None and is_odm_file(export):
        return apply_options(read_odm_project(export, encoding=encoding), events=chosen["events"],
                             mapping=chosen["mapping"], repeating=chosen["repeating"],
                             missing_codes=missing_codes, study_day_anchor=study_day_anchor)
    if chosen["dictionary"] is None:
        project = projects.load_default_project()
        if missing_codes is not None:
            project.missing_codes = missing_codes
        return project
    project = projects.load_project(chosen["dictionary"], events=chosen["events"], mapping=chosen["mapping"],
                                    repeating=chosen["repeating"], missing_codes=missing_codes,
                                    study_day_anchor=study_day_anchor)
    if from_ws:
        project.name = ws.name
    return project
