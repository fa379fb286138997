"""``registry analyze``, analysis half: check, stage, derive, fit, write ``results.json``.

1. read the plan; open the registry read-only;
2. the gate: the current batch's latest validation run must have passed (or a written
   override reason); the plan lock: a locked plan must be unchanged (or ``--exploratory``);
3. stage the plan's fields, derive subjects, pairs and relapse times (DuckDB SQL);
4. compute tests, rates, McNemar, Kaplan–Meier, log-rank, Cox (scipy, lifelines), MMRM;
5. assemble ``results.json`` (:mod:`registry.analysis.results`) and write it (temporary name,
   then rename). The report layer (:mod:`registry.report.render`) renders from that file
   alone; :mod:`registry.workflow` runs the two in turn. A refused run writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from registry.analysis.plan import AnalysisPlan, default_plan_path, read_plan
from registry.outputs import batch_folder, beside_registry, check_output_dir, write_json
from registry.store import resolve_db

if TYPE_CHECKING:
    import duckdb
    import pandas as pd


@dataclass
class Analysis:
    """Every computed table of a run (tidy frames and dicts; no fitted models)."""

    subjects: pd.DataFrame
    flow: pd.DataFrame
    pairs: pd.DataFrame
    paired: pd.DataFrame
    rates: pd.DataFrame
    relapse: pd.DataFrame  # at-risk subjects' times (registry.analysis.relapse)
    relapse_summary: dict  # results.json `relapse` fits (registry.analysis.time_to_event)
    relapse_population: dict  # results.json `relapse.population`
    ignored: dict
    mcnemar: pd.DataFrame
    onset: pd.DataFrame  # registry.analysis.onset
    time_to: dict = field(default_factory=dict)  # "response"/"remission" -> results.json dict
    baseline_characteristics: list = field(default_factory=list)  # Table 1 rows
    adverse_events: list = field(default_factory=list)  # registry.analysis.safety rows
    mmrm: list = field(default_factory=list)  # results.json `mmrm` (registry.analysis.mmrm)
    exposure: list = field(default_factory=list)  # registry.analysis.exposure rows
    disposition: list = field(default_factory=list)  # registry.analysis.disposition rows
    choice_labels: dict = field(default_factory=dict)  # registry.analysis.choices


@dataclass
class AnalyzeResult:
    """What ``analyze`` wrote (``files``: ``results.json``, then whatever the report adds)."""

    out_dir: Path
    results: dict
    files: list[Path]
    analysis: Analysis


#: Steps :func:`analyze` reports to its ``progress`` callback (the report adds one more).
STEPS = 8


def compute_analysis(
    con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, timings: dict | None = None, progress=None
) -> Analysis:
    """Stage the plan's data and run every prespecified analysis (steps 3 and 4).

    ``timings``, if given, receives the seconds each step took; ``progress(step)`` is called
    as each step ends.
    """
    import time

    from registry.analysis import (
        baseline_table,
        choices,
        disposition,
        exposure,
        mmrm,
        onset,
        paired,
        paired_rates,
        population,
        rates,
        relapse,
        safety,
        time_to_event,
    )
    from registry.analysis.stage import stage_plan_data

    clock = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal clock
        if progress is not None:
            progress(name.removesuffix("_s").replace("_", " "))
        if timings is not None:
            now = time.perf_counter()
            timings[name] = now - clock
            clock = now

    stage_plan_data(con, plan)
    subjects = population.derive_subjects(con, plan)
    flow = population.compute_flow(con, plan)
    tick("population_s")
    pairs = paired.derive_pairs(con, plan)
    paired_frame = paired.compute_paired(paired.summarise_pairs(con, plan), plan)
    tick("paired_s")
    rate_frame = rates.compute_rates(rates.count_rates(con, plan), plan.confidence)
    mcnemar = paired_rates.compute_paired_rates(paired_rates.count_paired_rates(con, plan))
    tick("rates_s")
    times = relapse.derive_relapse(con, plan)
    ignored = relapse.count_ignored_events(con, plan)
    onset_frame = con.execute("select * from _onset order by cohort, record_id").df()
    at_risk = onset.derive_relapse_population(con, plan)
    tick("relapse_derive_s")
    covariates = _covariates(con, plan)
    baseline = time_to_event.baseline_covariate(onset_frame, plan)
    if plan.relapse.origin == "onset" and plan.relapse.at_risk != "all":
        times = times.assign(onset_day=times["origin"])
    else:
        times = times.assign(onset_day=None)
    relapse_summary = time_to_event.summarise(times, plan, covariates, baseline)
    time_to = {}
    for kind in onset.KINDS:
        subjects_, left = onset.time_to_onset(onset_frame, kind, plan.relapse.origin_day)
        time_to[kind] = {
            "subjects": subjects_,
            "left_out": onset.left_out_summary(left, plan),
            **time_to_event.summarise(subjects_, plan, covariates, baseline),
        }
    tick("relapse_fit_s")
    analysed = subjects[subjects["analysed"].astype(bool)][["record_id", "cohort"]]
    table1 = baseline_table.baseline_rows(con, plan.baseline, analysed, [c for c, _ in plan.cohorts])
    ae_rows = []
    if plan.adverse_events is not None:
        ae_rows = safety.adverse_event_rows(
            safety.read_events(con, plan.adverse_events), analysed, [c for c, _ in plan.cohorts]
        )
    exposure_rows = [] if plan.exposure is None else exposure.compute_exposure(con, plan, plan.exposure)
    disposition_rows = (
        [] if plan.disposition is None else disposition.compute_disposition(con, plan, plan.disposition, analysed)
    )
    tick("clinical_s")
    mmrm_results = mmrm.compute_mmrm(pairs, plan)
    tick("mmrm_s")
    return Analysis(
        subjects,
        flow,
        pairs,
        paired_frame,
        rate_frame,
        times,
        relapse_summary,
        onset.population_summary(at_risk, plan),
        ignored,
        mcnemar,
        onset_frame,
        time_to,
        mmrm=mmrm_results,
        baseline_characteristics=table1,
        adverse_events=ae_rows,
        exposure=exposure_rows,
        disposition=disposition_rows,
        choice_labels=choices.shown_choice_labels(con, plan),
    )


def _covariates(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame | None:
    if not plan.cox_covariates:
        return None
    long = con.execute("select record_id, name, max(value) as value from _covariates group by record_id, name").df()
    return long.pivot(index="record_id", columns="name", values="value").reset_index()


def analyze(
    db: str | Path | None = None,
    plan_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    *,
    reports_root: str | Path | None = None,
    exploratory: bool = False,
    override_reason: str | None = None,
    check_gate: bool = True,
    timings: dict | None = None,
    progress=None,
) -> AnalyzeResult:
    """Run the plan on the registry's current batch and write ``results.json``.

    Parameters
    ----------
    db : path, optional
        The registry (default ``$REGISTRY_DB``, else ``./registry.duckdb``).
    plan_path : path, optional
        The analysis plan (default ``schemas/analysis_plan.toml``).
    out_dir : path, optional
        Output folder (default ``<reports_root>/batch_<N>/`` for the current batch N);
        created only when writing, checked before anything is computed.
    reports_root : path, optional
        Folder of the per-batch report folders (default ``reports/<registry name>/`` beside
        the registry file).
    exploratory : bool
        Run even if the plan differs from the locked one; every output says exploratory.
    override_reason : str, optional
        Written reason to analyse a batch that has not passed the gate; recorded.
    check_gate : bool
        False only for benchmarks (``bench/bench_analyze.py``).
    timings : dict, optional
        Receives seconds per step.
    progress : callable, optional
        ``progress(step: str)`` is called as each of the :data:`STEPS` steps ends (a progress bar).

    Raises
    ------
    GateError, PlanError, RegistryStateError
        Nothing is written.
    """
    import time

    from registry.analysis.lock import check_plan_lock, read_lock_status
    from registry.analysis.methods import render_methods
    from registry.analysis.mmrm_methods import mmrm_methods
    from registry.analysis.provenance import check_gate as check_gate_status
    from registry.analysis.provenance import read_current_batch, read_gate_status
    from registry.analysis.results import build_results
    from registry.analysis.since_previous import compute_since_previous, record_run
    from registry.analysis.stage import open_registry

    start = time.perf_counter()
    check_output_dir(out_dir if out_dir is not None else reports_root or beside_registry("reports", resolve_db(db)))
    plan = read_plan(plan_path if plan_path is not None else default_plan_path())
    con = open_registry(db)
    try:
        batch = read_current_batch(con)
        gate = read_gate_status(con, batch["batch_id"])
        if check_gate:
            check_gate_status(gate, batch["batch_id"], override_reason)
        lock = read_lock_status(con, plan)
        check_plan_lock(lock, plan, exploratory)
        analysis = compute_analysis(con, plan, timings, progress)
    finally:
        con.close()
    now = datetime.now(UTC).replace(microsecond=0)
    results = build_results(
        plan=plan,
        lock=lock,
        batch=batch,
        gate=gate,
        analysis=analysis,
        exploratory=exploratory,
        override_reason=override_reason,
        generated_at=now.strftime("%Y-%m-%d %H:%M:%S UTC"),
        methods=[*render_methods(plan), *mmrm_methods(analysis.mmrm, plan)],
    )
    out = (
        Path(out_dir)
        if out_dir is not None
        else batch_folder(reports_root or beside_registry("reports", resolve_db(db)), batch["batch_id"])
    )
    results["since_previous"] = compute_since_previous(db, batch["batch_id"], plan, results)
    path = write_json(out / "results.json", results, allow_nan=False)
    record_run(db, batch["batch_id"], out, results, plan)
    if progress is not None:
        progress("results.json written")
    if timings is not None:
        timings["total_s"] = time.perf_counter() - start
    return AnalyzeResult(out, results, [path], analysis)
