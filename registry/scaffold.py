"""``registry init``: write a workspace (registry.toml, plan.toml, checks/) for a REDCap project.

For the toolkit's own project the plan is a copy of the default plan and checks/ a copy of
the default suites. For another project, its dictionary (and events, mapping, repeating
files) are copied into ``project/``, checks/ is built from the dictionary, and plan.toml is a
commented template naming the project's events and numeric fields, to be filled in before
``registry plan lock``. Everything is checked before anything is written, written under a
temporary name and moved into place; an existing workspace is never overwritten.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from registry import resources
from registry.errors import WorkspaceError
from registry.outputs import check_output_dir, staged_files, write_text
from registry.redcap.dictionary import Dictionary
from registry.redcap.project import Project, load_project
from registry.workspace import CONFIG, FILES, PROJECT_FILES, Workspace, read_workspace

PROJECT_DIR = "project"
NUMERIC = {"integer", "number", "float", "int"}


def init_workspace(directory: str | Path = ".", **files: Path | None) -> Workspace:
    """Write a workspace in ``directory`` (created if missing) and return it.

    ``files`` are the project's ``dictionary``, ``events``, ``mapping`` and ``repeating``
    exports; without a dictionary the workspace is for the toolkit's own project.

    Raises
    ------
    WorkspaceError
        ``directory`` already holds a workspace (or its plan, checks or project files), or
        events/mapping/repeating were given without a dictionary. Nothing is written.
    DictionaryError
        A project file cannot be read. Nothing is written.
    """
    directory = Path(directory)
    check_output_dir(directory, "DIR")
    taken = [name for name in (CONFIG, FILES["plan"], FILES["checks"], PROJECT_DIR) if (directory / name).exists()]
    if taken:
        raise WorkspaceError(
            f"{directory} already holds a workspace ({', '.join(taken)})", where=str(directory.absolute()),
            fix="run registry init in a new or empty folder; registry init never overwrites a workspace",
        )
    given = {k: Path(v) for k, v in files.items() if v is not None}
    if given and "dictionary" not in given:
        raise WorkspaceError(
            f"--{next(iter(given))} describes another project, but no --dictionary was given",
            where=str(next(iter(given.values()))),
            fix="give that project's data dictionary with --dictionary (and its events, mapping, repeating files)",
        )
    project = load_project(**given) if given else None  # checked before anything is written
    with staged_files(directory) as staging:
        if project is None:
            write_text(staging / CONFIG, _config(None))
            shutil.copyfile(resources.default_plan_path(), staging / FILES["plan"])
            _copy_checks(resources.default_checks_dir(), staging / FILES["checks"])
        else:
            from registry.checks.build import build_suites, write_suites

            names = {}
            (staging / PROJECT_DIR).mkdir()
            for key in PROJECT_FILES:
                if key in given:
                    names[key] = f"{PROJECT_DIR}/{key}{given[key].suffix or '.csv'}"
                    shutil.copyfile(given[key], staging / names[key])
            write_text(staging / CONFIG, _config(names, directory.absolute().name))
            write_text(staging / FILES["plan"], plan_template(project, directory.absolute().name))
            write_suites(build_suites(project.dictionary), staging / FILES["checks"])
    return read_workspace(directory / CONFIG)


def _copy_checks(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))


def _config(names: dict[str, str] | None, name: str = "") -> str:
    lines = [
        "# A registry workspace, written by `registry init`. Every registry command run in this",
        "# folder or below it uses these settings; command-line options override them.",
        "# Paths are relative to this folder.",
        "",
        "[project]",
    ]
    if names is None:
        lines += ["# The toolkit's own REDCap project (the TRD esketamine registry).", "builtin = true"]
    else:
        lines += ["# The REDCap project whose exports are ingested: its files, copied in by registry init.",
                  f"name = {_quote(name)}"]
        lines += [f"{key} = {_quote(value)}" for key, value in names.items()]
        lines += ['# study_day_anchor = "date_enrolled"   # the date field that is day 0 (dates become days)',
                  '# missing_codes = ["NA", "UNK"]        # the project\'s missing-data codes']
    lines += [
        "",
        "[files]",
        f"plan = {_quote(FILES['plan'])}          # the analysis plan: registry plan lock, before the first ingest",
        f"checks = {_quote(FILES['checks'])}          # expectation suites run by registry validate",
        f"registry = {_quote(FILES['registry'])}  # the versioned registry",
        f"reports = {_quote(FILES['reports'])}        # one folder per batch: data quality and analysis reports",
        f"exports = {_quote(FILES['exports'])}        # one folder per batch: the ADaM datasets",
        "",
    ]
    return "\n".join(lines)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def plan_template(project: Project, name: str) -> str:
    """A commented analysis-plan template naming ``project``'s events and numeric fields."""
    dic = project.dictionary
    events = [e.unique_name for e in project.events or []]
    numeric = _fields(dic, lambda f: f.field_type == "calc" or f.validation in NUMERIC or f.field_type == "slider")
    coded = _fields(dic, lambda f: f.field_type in {"radio", "dropdown", "yesno", "truefalse"})
    dates = _fields(dic, lambda f: f.validation.startswith("date"))
    first = numeric[0][0] if numeric else ("<form>", "<field>")
    cohort = coded[0][0] if coded else ("<form>", "<field>")
    baseline = events[0] if events else "<baseline_event>"
    followup = ", ".join(_quote(e) for e in events[1:3]) if len(events) > 1 else '"<followup_event>"'
    out = [
        f"# Analysis plan of {name}: a TEMPLATE written by `registry init`.",
        "#",
        "# Fill it in BEFORE the data are seen: uncomment the tables below, put this project's",
        "# fields and events in place of the suggestions, then `registry plan lock`. The default",
        "# plan of the toolkit's own project (schemas/analysis_plan.toml in the source) explains",
        "# every key. Until it is filled in, `registry plan lock` and `registry analyze` refuse it.",
        "#",
        "# This project's events (REDCap unique event names), in order:",
        *([f"#   {e}" for e in events] or ["#   (none: the project is not longitudinal)"]),
        "#",
        "# Its numeric fields (candidates for [[outcomes]] and the [relapse] score), form.field:",
        *([f"#   {f}.{n}  ({kind})" for (f, n), kind in numeric] or ["#   (none)"]),
        "#",
        "# Its coded fields (candidates for [population] include and cohort), form.field:",
        *([f"#   {f}.{n}  ({kind})" for (f, n), kind in coded] or ["#   (none)"]),
        "#",
        "# Its date fields (the day columns of [relapse]; name a day-0 field as",
        "# project.study_day_anchor in registry.toml so that dates become study days):",
        *([f"#   {f}.{n}" for (f, n), _ in dates] or ["#   (none)"]),
        "",
        "# [plan]",
        f'# title = "{name}: prespecified analyses"',
        '# version = "1"',
        "#",
        "# [population]",
        '# name = "analysis set"',
        f'# include = {{ form = "{cohort[0]}", field = "{cohort[1]}", value = 1 }}',
        f'# cohort = {{ form = "{cohort[0]}", field = "{cohort[1]}" }}',
        "#",
        "# [population.cohorts]",
        '# 1 = "<cohort 1>"',
        '# 2 = "<cohort 2>"',
        "#",
        "# [visits]",
        f'# baseline = "{baseline}"',
        f"# followup = [{followup}]",
        "#",
        "# [tests]",
        "# alpha = 0.05",
        '# multiplicity = "holm"',
        '# family = "all"',
        "#",
        "# [[outcomes]]",
        f'# scale = "{first[1]}"',
        f'# label = "{first[1]}"',
        f'# form = "{first[0]}"',
        f'# field = "{first[1]}"',
        '# sided = "two-sided"',
        '# remission = { comparison = "<", threshold = 10 }',
        "#",
        "# [response]",
        "# min_reduction_percent = 50",
        "#",
        "# [relapse]",
        f'# scale = "{first[1]}"',
        '# comparison = ">="',
        "# threshold = 22",
        "# consecutive = 2",
        "# min_gap_days = 5",
        "# max_gap_days = 15",
        "#",
        "# [[relapse.ratings]]",
        '# name = "visit"',
        f'# form = "{first[0]}"',
        f'# score = "{first[1]}"',
        '# day = "<date field of that form>"',
        "#",
        "# [relapse.clinician]",
        '# form = "<form>"',
        '# field = "<relapse yes/no field>"',
        "# value = 1",
        '# day = "<relapse date field>"',
        "#",
        "# [relapse.censoring]",
        '# rule = "later of last assessment and last contact"',
        '# last_contact = { form = "<form>", day = "<last contact date field>" }',
        "#",
        "# [cox]",
        "# compare = 1",
        "# reference = 2",
        "#",
        "# [power]",
        "# target = 0.80",
        "",
    ]
    return "\n".join(out)


def _fields(dic: Dictionary, keep) -> list[tuple[tuple[str, str], str]]:
    return [((f.form, f.name), f.validation or f.field_type) for f in dic.fields if keep(f)]
