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

AT_RISK_STEP_DAYS = 28


@dataclass
class Analysis:
    """Every computed table of a run (tidy frames and dicts; no fitted models)."""

    subjects: pd.DataFrame
    flow: pd.DataFrame
    pairs: pd.DataFrame
    paired: pd.DataFrame
    rates: pd.DataFrame
    relapse: pd.DataFrame
    km: pd.DataFrame
    medians: dict
    at_risk: pd.DataFrame
    logrank: dict
    cox: dict
    ignored: dict
    mcnemar: pd.DataFrame
    median_cis: dict
    mmrm: list = field(default_factory=list)  # results.json `mmrm` (registry.analysis.mmrm)


@dataclass
class AnalyzeResult:
    """What ``analyze`` wrote (``files``: ``results.json``, then whatever the report adds)."""

    out_dir: Path
    results: dict
    files: list[Path]
    analysis: Analysis


def compute_analysis(
    con: duckdb.DuckDBPyConnection, plan: AnalysisPlan, timings: dict | None = None
) -> Analysis:
    """Stage the plan's data and run every prespecified analysis (steps 3 and 4).

    ``timings``, if given, receives the seconds each step took.
    """
    import time

    from registry.analysis import mmrm, paired, paired_rates, population, rates, relapse
    from registry.analysis.stage import stage_plan_data

    clock = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal clock
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
    tick("relapse_derive_s")
    cohorts = [code for code, _ in plan.cohorts]
    km = relapse.fit_km(times, plan.confidence)
    medians = relapse.compute_medians(times, km, cohorts)
    median_cis = relapse.compute_median_cis(km, cohorts)
    horizon = float(times["days"].max()) if len(times) else 0.0
    days = [float(d) for d in range(0, int(horizon) + 1, AT_RISK_STEP_DAYS)]
    at_risk = relapse.compute_at_risk(times, days, cohorts)
    logrank = relapse.fit_logrank(times, plan.cox_compare, plan.cox_reference)
    cox = relapse.fit_cox(
        times, plan.cox_compare, plan.cox_reference, _covariates(con, plan), plan.confidence
    )
    tick("relapse_fit_s")
    mmrm_results = mmrm.compute_mmrm(pairs, plan)
    tick("mmrm_s")
    return Analysis(
        subjects,
        flow,
        pairs,
        paired_frame,
        rate_frame,
        times,
        km,
        medians,
        at_risk,
        logrank,
        cox,
        ignored,
        mcnemar,
        median_cis,
        mmrm_results,
    )


def _covariates(con: duckdb.DuckDBPyConnection, plan: AnalysisPlan) -> pd.DataFrame | None:
    if not plan.cox_covariates:
        return None
    long = con.execute(
        "select record_id, name, max(value) as value from _covariates group by record_id, name"
    ).df()
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
        False only for benchmarks (:mod:`registry.bench_analyze`).
    timings : dict, optional
        Receives seconds per step.

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
        analysis = compute_analysis(con, plan, timings)
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
    out = Path(out_dir) if out_dir is not None else batch_folder(
        reports_root or beside_registry("reports", resolve_db(db)), batch["batch_id"]
    )
    path = write_json(out / "results.json", results, allow_nan=False)
    if timings is not None:
        timings["total_s"] = time.perf_counter() - start
    return AnalyzeResult(out, results, [path], analysis)
