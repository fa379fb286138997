"""The ADaM recipe: open the registry, stage the plan's data, derive ADSL, ADQS, ADTTE.

The datasets are derived from the registry's current batch with the analyses' own staging
and derivations (population, pairs, relapse times), so their numbers are those of
``registry analyze``'s ``results.json``: the same subjects, pairs, changes and times.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry import sqltext
from registry.adam import Dataset
from registry.adam.source import DemographicFields

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass
class AdamData:
    """The three datasets and where they came from."""

    adsl: Dataset
    adqs: Dataset
    adtte: Dataset
    batch: dict
    plan_sha256: str
    plan_file: str

    @property
    def datasets(self) -> list[Dataset]:
        """ADSL, ADQS, ADTTE in that order."""
        return [self.adsl, self.adqs, self.adtte]


read_sql = sqltext.reader("registry.adam")


def run_sql(con: duckdb.DuckDBPyConnection, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run ``sql/<name>.sql`` with bound parameters; return a DataFrame."""
    return con.execute(read_sql(name), params or {}).df()


def _studyid(con: duckdb.DuckDBPyConnection, batch_id: int) -> str:
    from registry.adam.adsl import check_studyid

    try:
        row = con.execute("select project from reg.registry.batches where batch_id = $id", {"id": batch_id}).fetchall()
    except Exception:  # a registry written before the project column existed
        row = []
    return check_studyid(row[0][0] if row and row[0][0] else "registry")


def derive_datasets(con: duckdb.DuckDBPyConnection, plan, spec: DemographicFields | None = None) -> tuple:
    """Derive (ADSL, ADQS, ADTTE) on a connection opened by :func:`open_registry`.

    Runs the analyses' staging and derivations first (``_subjects``, ``_pairs``,
    ``_onset``, ``_relapse_times``), then the ADaM SQL and the derive_ steps.
    """
    from registry.adam import adqs, adsl, adtte, source
    from registry.analysis import onset, paired, population, relapse
    from registry.analysis.provenance import read_current_batch
    from registry.analysis.stage import stage_plan_data

    spec = spec or plan.demographics
    batch = read_current_batch(con)
    dic = source.read_batch_dictionary(con)
    stage_plan_data(con, plan)
    population.derive_subjects(con, plan)
    paired.derive_pairs(con, plan)
    relapse.derive_relapse(con, plan)

    source.stage_demographics(con, spec, dic)
    base = run_sql(con, "adsl")
    criteria = run_sql(con, "adsl_criteria")
    adsl_frame, adsl_labels = adsl.derive_adsl_base(base, criteria, dic, spec, plan, _studyid(con, batch["batch_id"]))

    params = adqs.derive_parameters(plan, dic)
    adqs.stage_parameters(con, params, plan)
    source.stage_items(con, [(p.form, p.field) for p in params if not p.is_total and not p.is_rating])
    source.stage_ratings(con, [(p.paramcd, p.form, p.field, p.rating_day) for p in params if p.is_rating])
    source.stage_days(con, adqs.day_fields(params, dic))
    mmrm = plan.mmrm
    adqs_rows = run_sql(
        con,
        "adqs",
        {
            "baseline": plan.baseline_visit,
            "mmrm_visits": list(mmrm.visits) if mmrm else [],
            "mmrm_scales": list(mmrm.outcomes) if mmrm else [],
        },
    )
    adqs_ds = adqs.derive_adqs(adqs_rows, adsl_frame, adsl_labels, params, plan)

    adsl_ds = adsl.finish_adsl(adsl_frame, adsl_labels, adqs_ds.frame, params, dic, spec, plan)
    origin_day = plan.relapse.origin_day
    onset_frame = con.execute("select * from _onset order by cohort, record_id").df()
    parts = {"RELAPSE": run_sql(con, "adtte")}
    for code, kind in (("TTRESP", "response"), ("TTREMIS", "remission")):
        subjects, _ = onset.time_to_onset(onset_frame, kind, origin_day)
        parts[code] = adtte.onset_rows(subjects, kind, origin_day)
    adtte_ds = adtte.derive_adtte(parts, adsl_frame, adsl_labels, plan)
    return adsl_ds, adqs_ds, adtte_ds, batch


def build_adam(
    db: str | Path | None = None, plan_path: str | Path | None = None, spec: DemographicFields | None = None
) -> AdamData:
    """ADSL, ADQS and ADTTE of the registry's current batch under the analysis plan.

    Parameters
    ----------
    db : path, optional
        The registry (default ``$REGISTRY_DB``, else ``./registry.duckdb``); opened read-only.
    plan_path : path, optional
        The analysis plan (default ``schemas/analysis_plan.toml``).
    spec : DemographicFields, optional
        Where the demographics live (the registry project's fields by default).

    Raises
    ------
    AdamError, PlanError, RegistryStateError
        A field the datasets need is missing, the plan does not fit, or there is no registry.
    """
    from registry.analysis.plan import default_plan_path, read_plan
    from registry.analysis.stage import open_registry

    plan = read_plan(plan_path if plan_path is not None else default_plan_path())
    con = open_registry(db)
    try:
        adsl_ds, adqs_ds, adtte_ds, batch = derive_datasets(con, plan, spec)
    finally:
        con.close()
    return AdamData(adsl_ds, adqs_ds, adtte_ds, batch, plan.sha256, str(plan.path))
