"""The comparison for ``bench/bench_analyze.py``: one analyst's pandas + scipy + lifelines script.

It does the statistics of ``registry analyze`` the way a competent analyst would write them
by hand, without the toolkit (it never imports ``registry``): read the registry's tables
into pandas, then

- paired change from baseline per cohort x outcome x follow-up visit (``scipy.stats.ttest_rel``,
  t-based CI, Cohen's d_z, Hedges' g_z), Holm over the 12 tests;
- response and remission rates with exact (Clopper-Pearson) CIs (``binomtest``);
- McNemar's test of response / remission at two visits (continuity-corrected chi-square and
  the exact binomial p);
- onset of response and remission (session and visit MADRS ratings), the relapse rule among
  responders from onset (2 consecutive MADRS >= 22, 5-15 days apart, or a clinician-dated
  relapse; censored at the later of last assessment and last contact);
- Kaplan-Meier, log-rank and Cox (unadjusted and adjusted for baseline MADRS) for time to
  relapse, to response and to remission (lifelines);
- ``results.json`` and ``report.html`` (tables, a change plot and a KM plot, PNGs inline).

The plan's parameters are read from the plan TOML (``schemas/analysis_plan.toml``), the
way an analyst keeps them in one place. ``tests/test_pandas_script.py`` checks every number
it shares with ``registry analyze``'s ``results.json``.

Usage::

    python bench/pandas_script.py --db registry.duckdb --out folder [--plan analysis_plan.toml]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import tomllib
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifelines import CoxPHFitter, KaplanMeierFitter  # noqa: E402
from lifelines.statistics import logrank_test  # noqa: E402
from scipy import stats  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("response", "remission")
COMPARE = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}


def read_data(db: Path, plan: dict) -> dict[str, pd.DataFrame]:
    """Every form the analysis reads, as a DataFrame."""
    forms = {"eligibility", "demographics", "disposition"} | {o["form"] for o in plan["outcomes"]}
    forms |= {r["form"] for r in plan["relapse"]["ratings"]}
    con = duckdb.connect(str(db), read_only=True)
    data = {form: con.table(f"main.{form}").df() for form in sorted(forms)}
    data["_records"] = con.table("main._records").df()
    con.close()
    return data


def last_instance(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """One value per record and event: the last repeat instance with a value."""
    frame = frame[frame[value].notna()].copy()
    frame["instance"] = frame["redcap_repeat_instance"].fillna(0)
    frame = frame.sort_values("instance")
    return frame.drop_duplicates(["record_id", "redcap_event_name"], keep="last")


def analysis_set(data: dict, plan: dict) -> pd.DataFrame:
    pop = plan["population"]
    inc, coh = pop["include"], pop["cohort"]
    codes = [int(c) for c in pop["cohorts"]]
    cohort = data[coh["form"]].dropna(subset=[coh["field"]]).groupby("record_id")[coh["field"]].max()
    included = (data[inc["form"]][inc["field"]] == inc["value"]).groupby(data[inc["form"]]["record_id"]).any()
    subjects = pd.DataFrame({"record_id": data["_records"]["record_id"].dropna().unique()})
    subjects["cohort"] = subjects["record_id"].map(cohort)
    subjects["included"] = subjects["record_id"].map(included).fillna(False).astype(bool)
    keep = subjects["included"] & subjects["cohort"].isin(codes)
    return subjects.loc[keep, ["record_id", "cohort"]].astype({"cohort": int})


def make_pairs(data: dict, plan: dict, subjects: pd.DataFrame) -> pd.DataFrame:
    """Baseline and follow-up totals per subject, outcome and visit; a total outside its
    visit's window (plan [visits.windows], on the outcome's day field) is not used."""
    baseline_visit, followup = plan["visits"]["baseline"], plan["visits"]["followup"]
    windows = plan["visits"].get("windows", {})
    parts = []
    for o in plan["outcomes"]:
        scores = last_instance(data[o["form"]], o["field"])
        days = scores[o["day"]].astype(float) if "day" in o else pd.Series(0.0, index=scores.index)
        inside = [
            e not in windows or (d == d and windows[e][0] <= d <= windows[e][1])
            for e, d in zip(scores["redcap_event_name"], days, strict=True)
        ]
        scores = scores[inside].set_index(["record_id", "redcap_event_name"])[o["field"]].astype(float)
        base = scores.xs(baseline_visit, level="redcap_event_name")
        for visit in followup:
            fu = scores[scores.index.get_level_values(1) == visit].droplevel(1)
            part = subjects.assign(scale=o["scale"], visit=visit)
            part["baseline"] = part["record_id"].map(base)
            part["followup"] = part["record_id"].map(fu)
            parts.append(part)
    pairs = pd.concat(parts, ignore_index=True)
    pairs["change"] = pairs["followup"] - pairs["baseline"]
    return pairs


def holm(p: np.ndarray) -> np.ndarray:
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    out[order] = np.maximum.accumulate(np.minimum(1, (len(ok) - np.arange(len(ok))) * p[order]))
    return out


def paired_tests(pairs: pd.DataFrame, plan: dict) -> pd.DataFrame:
    conf = plan["tests"]["confidence"]
    rows = []
    for (cohort, scale, visit), g in pairs.groupby(["cohort", "scale", "visit"], sort=False):
        c = g.dropna(subset=["baseline", "followup"])
        n, d = len(c), c["change"]
        t, p = stats.ttest_rel(c["followup"], c["baseline"])
        half = stats.t.ppf((1 + conf) / 2, n - 1) * d.std() / np.sqrt(n)
        dz = d.mean() / d.std()
        rows.append(
            {
                "cohort": cohort,
                "scale": scale,
                "visit": visit,
                "n": n,
                "n_population": len(g),
                "mean_baseline": c["baseline"].mean(),
                "sd_baseline": c["baseline"].std(),
                "mean_followup": c["followup"].mean(),
                "sd_followup": c["followup"].std(),
                "mean_change": d.mean(),
                "sd_change": d.std(),
                "ci_low": d.mean() - half,
                "ci_high": d.mean() + half,
                "t": t,
                "df": n - 1,
                "p_two_sided": p,
                "cohens_dz": dz,
                "hedges_gz": (1 - 3 / (4 * (n - 1) - 1)) * dz,
            }
        )
    out = pd.DataFrame(rows)
    out["p_adjusted"] = holm(out["p_two_sided"].to_numpy(float))
    return out


def rate_status(pairs: pd.DataFrame, plan: dict) -> pd.DataFrame:
    pct = plan["response"]["min_reduction_percent"]
    resp = pairs.dropna(subset=["baseline", "followup"])
    resp = resp[resp["baseline"] > 0].assign(kind="response")
    resp["met"] = (resp["baseline"] - resp["followup"]) * 100 >= pct * resp["baseline"]
    rem = pairs.dropna(subset=["followup"]).assign(kind="remission")
    rem["met"] = False
    for o in plan["outcomes"]:
        mine = rem["scale"] == o["scale"]
        rule = o["remission"]
        rem.loc[mine, "met"] = COMPARE[rule["comparison"]](rem.loc[mine, "followup"], rule["threshold"])
    return pd.concat([resp, rem], ignore_index=True)


def rates(status: pd.DataFrame, plan: dict) -> pd.DataFrame:
    out = status.groupby(["cohort", "scale", "visit", "kind"], sort=False)["met"].agg(["sum", "size"]).reset_index()
    out = out.rename(columns={"sum": "count", "size": "n"})
    out["rate"] = out["count"] / out["n"]
    cis = [
        stats.binomtest(int(k), int(n)).proportion_ci(plan["tests"]["confidence"], "exact")
        for k, n in zip(out["count"], out["n"], strict=True)
    ]
    out["ci_low"] = [ci.low for ci in cis]
    out["ci_high"] = [ci.high for ci in cis]
    return out


def mcnemar(status: pd.DataFrame, plan: dict) -> pd.DataFrame:
    rows = []
    scales = [o["scale"] for o in plan["outcomes"]]
    for spec in plan.get("mcnemar", []):
        for scale in spec.get("scales", scales):
            for kind in spec["kinds"]:
                mine = status[(status["scale"] == scale) & (status["kind"] == kind)]
                wide = mine.pivot_table(index=["record_id", "cohort"], columns="visit", values="met", aggfunc="first")
                wide = wide[[spec["visit_a"], spec["visit_b"]]].dropna().astype(bool)
                for cohort, w in wide.groupby(level="cohort"):
                    a, b_ = w[spec["visit_a"]], w[spec["visit_b"]]
                    b, c = int((a & ~b_).sum()), int((~a & b_).sum())
                    stat = (abs(b - c) - (b != c)) ** 2 / (b + c) if b + c else np.nan
                    rows.append(
                        {
                            "cohort": cohort,
                            "scale": scale,
                            "kind": kind,
                            "visit_a": spec["visit_a"],
                            "visit_b": spec["visit_b"],
                            "n": len(w),
                            "count_a": int(a.sum()),
                            "count_b": int(b_.sum()),
                            "b": b,
                            "c": c,
                            "statistic": stat,
                            "p": stats.chi2.sf(stat, 1) if b + c else 1.0,
                            "p_exact": stats.binomtest(b, b + c).pvalue if b + c else 1.0,
                        }
                    )
    return pd.DataFrame(rows)


def assessments(data: dict, plan: dict) -> pd.DataFrame:
    """Relapse-scale ratings: one per record and day, the first-listed source's on a shared day."""
    parts = []
    for rank, src in enumerate(plan["relapse"]["ratings"]):
        f = data[src["form"]]
        f = pd.DataFrame(
            {
                "record_id": f["record_id"],
                "day": f[src["day"]],
                "score": f[src["score"]].astype(float),
                "instance": f["redcap_repeat_instance"].fillna(0),
                "event": f["redcap_event_name"],
            }
        )
        parts.append(f.dropna(subset=["day", "score"]).assign(rank=rank))
    r = pd.concat(parts, ignore_index=True)
    # several rows of one source on one day: the plan's [ratings] same_day rule
    same_day = plan.get("ratings", {}).get("same_day", "last_instance")
    keys = ["record_id", "day", "rank"]
    if same_day == "mean":
        r = r.groupby(keys, as_index=False)["score"].mean()
    else:
        keep = "first" if same_day == "first_instance" else "last"
        r = r.sort_values([*keys, "instance", "event"]).drop_duplicates(keys, keep=keep)
    # several sources on one day: the first listed
    r = r.sort_values(["record_id", "day", "rank"]).drop_duplicates(["record_id", "day"])
    return r[["record_id", "day", "score"]]


def onsets(ratings: pd.DataFrame, data: dict, subjects: pd.DataFrame, plan: dict) -> pd.DataFrame:
    rule = plan["relapse"]
    outcome = next(o for o in plan["outcomes"] if o["scale"] == rule["scale"])
    scores = last_instance(data[outcome["form"]], outcome["field"])  # the baseline total, any day
    scores = scores[scores["redcap_event_name"] == plan["visits"]["baseline"]]
    base = scores.set_index("record_id")[outcome["field"]].astype(float)
    r = ratings[ratings["day"] > rule["origin_day"]].copy()
    b = r["record_id"].map(base)
    pct = plan["response"]["min_reduction_percent"]
    r["responded"] = (b > 0) & ((b - r["score"]) * 100 >= pct * b)
    r["remitted"] = COMPARE[outcome["remission"]["comparison"]](r["score"], outcome["remission"]["threshold"])
    g = r.groupby("record_id")
    out = subjects.copy()
    out["baseline"] = out["record_id"].map(base)
    for kind in KINDS:
        first = r[r["responded" if kind == "response" else "remitted"]].groupby("record_id")["day"].min()
        out[f"{kind}_day"] = out["record_id"].map(first).where(out["baseline"].notna())
    out["last_assessment_day"] = out["record_id"].map(g["day"].max())
    out["assessments"] = out["record_id"].map(g.size()).fillna(0)
    return out


def relapse_times(ratings: pd.DataFrame, onset: pd.DataFrame, data: dict, plan: dict) -> pd.DataFrame:
    rule = plan["relapse"]
    k = rule["consecutive"]
    at_risk = onset.dropna(subset=["response_day"])[["record_id", "cohort", "response_day"]]
    at_risk = at_risk.rename(columns={"response_day": "start"})
    r = ratings.merge(at_risk[["record_id", "start"]], on="record_id")
    r = r[r["day"] > r["start"]].sort_values(["record_id", "day"])
    high = COMPARE[rule["comparison"]](r["score"], rule["threshold"])
    gap = r.groupby("record_id")["day"].diff()
    qualifies = high.copy()
    for j in range(1, k):
        nxt = r.groupby("record_id")
        same = nxt["record_id"].shift(-j).notna()
        ok_gap = gap.groupby(r["record_id"]).shift(-j).between(rule["min_gap_days"], rule["max_gap_days"])
        qualifies &= same & high.groupby(r["record_id"]).shift(-j, fill_value=False) & ok_gap
    dated = r["day"] if rule["event_dated_on"] == "first" else r.groupby("record_id")["day"].shift(-(k - 1))
    score_day = dated[qualifies].groupby(r["record_id"][qualifies]).min()
    clin = rule["clinician"]
    disp = data[clin["form"]].merge(at_risk[["record_id", "start"]], on="record_id")
    disp = disp[(disp[clin["field"]] == clin["value"]) & (disp[clin["day"]] > disp["start"])]
    clin_day = disp.groupby("record_id")[clin["day"]].min()
    contact = rule["censoring"]["last_contact"]
    last_contact = data[contact["form"]].groupby("record_id")[contact["day"]].max()
    out = at_risk.copy()
    out["score_event_day"] = out["record_id"].map(score_day)
    out["clinician_event_day"] = out["record_id"].map(clin_day)
    out["last_assessment_day"] = out["record_id"].map(ratings.groupby("record_id")["day"].max())
    out["last_contact_day"] = out["record_id"].map(last_contact)
    event_day = out[["score_event_day", "clinician_event_day"]].min(axis=1)
    censor = out[["last_assessment_day", "last_contact_day", "start"]].max(axis=1)
    out["event"] = event_day.notna()
    out["days"] = event_day.fillna(censor) - out["start"]
    s, c = out["score_event_day"].astype(float), out["clinician_event_day"].astype(float)
    out["criterion"] = np.select(
        [~out["event"], c.isna() | (s < c), s.isna() | (c < s)], ["censored", "score", "clinician"], "score+clinician"
    )
    out["onset_day"] = out["start"]
    return out.sort_values(["cohort", "record_id"]).reset_index(drop=True)


def time_to_onset(onset: pd.DataFrame, kind: str) -> pd.DataFrame:
    kept = onset[onset["baseline"].notna() & (onset["assessments"] > 0)]
    event = kept[f"{kind}_day"].notna()
    days = kept[f"{kind}_day"].where(event, kept["last_assessment_day"]).astype(float)
    return pd.DataFrame({"record_id": kept["record_id"], "cohort": kept["cohort"], "days": days, "event": event})


def survival(times: pd.DataFrame, baseline: pd.Series, plan: dict) -> dict:
    conf = plan["tests"]["confidence"]
    compare, reference = plan["cox"]["compare"], plan["cox"]["reference"]
    km_rows, medians = [], {}
    for cohort, g in times.groupby("cohort"):
        kmf = KaplanMeierFitter(alpha=1 - conf).fit(g["days"], g["event"])
        table = kmf.event_table.join(kmf.survival_function_).join(kmf.confidence_interval_)
        table = table[table["observed"] > 0]
        km_rows += [
            {
                "cohort": int(cohort),
                "day": float(day),
                "at_risk": int(row["at_risk"]),
                "events": int(row["observed"]),
                "survival": row.iloc[-3],
                "ci_low": row.iloc[-2],
                "ci_high": row.iloc[-1],
            }
            for day, row in table.iterrows()
        ]
        medians[str(cohort)] = kmf.median_survival_time_
    a, b = times[times["cohort"] == compare], times[times["cohort"] == reference]
    lr = logrank_test(a["days"], b["days"], a["event"], b["event"])
    data = times[times["cohort"].isin([compare, reference])].assign(compare=lambda f: (f["cohort"] == compare) * 1.0)
    data = data.assign(baseline=data["record_id"].map(baseline))
    cox = {}
    for key, cols in (("cox", ["compare"]), ("cox_adjusted", ["compare", "baseline"])):
        # converged as tightly as R's coxph: lifelines' defaults (and precision 1e-10 alone) stop
        # ~1e-5 away, because its last Newton step is not applied; full steps to a tiny decrement
        fit = CoxPHFitter(alpha=1 - conf).fit(
            data[["days", "event", *cols]].dropna(),
            "days",
            "event",
            fit_options={"precision": 1e-20, "r_precision": 0.0, "step_size": 1.0, "max_steps": 100},
        )
        s = fit.summary.loc["compare"]
        cox[key] = {
            "hr": s["exp(coef)"],
            "ci_low": s[f"exp(coef) lower {conf:.0%}"],
            "ci_high": s[f"exp(coef) upper {conf:.0%}"],
            "p": s["p"],
            "coef": s["coef"],
            "se": s["se(coef)"],
            "n": int(fit._n_examples),
            "events": int(data["event"][data[cols].notna().all(axis=1)].sum()),
        }
    return {"km": km_rows, "median_days": medians, "logrank": {"chisq": lr.test_statistic, "p": lr.p_value}, **cox}


def png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def change_plot(paired: pd.DataFrame, plan: dict) -> str:
    outcomes = plan["outcomes"]
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4 * len(outcomes), 3.5), sharey=False)
    for ax, o in zip(np.atleast_1d(axes), outcomes, strict=True):
        for cohort, g in paired[paired["scale"] == o["scale"]].groupby("cohort"):
            x = [plan["visits"]["days"][v] for v in g["visit"]]
            ax.errorbar(
                x,
                g["mean_change"],
                yerr=[g["mean_change"] - g["ci_low"], g["ci_high"] - g["mean_change"]],
                marker="o",
                capsize=3,
                label=plan["population"]["cohorts"][str(cohort)],
            )
        ax.axhline(0, color="grey", lw=0.5)
        ax.set(title=o["label"], xlabel="Study day", ylabel="Mean change from baseline (95% CI)")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    return png(fig)


def km_plot(times: pd.DataFrame, plan: dict) -> str:
    fig, ax = plt.subplots(figsize=(6, 4))
    for cohort, g in times.groupby("cohort"):
        KaplanMeierFitter().fit(
            g["days"], g["event"], label=plan["population"]["cohorts"][str(cohort)]
        ).plot_survival_function(ax=ax)
    ax.set(xlabel="Days since onset of response", ylabel="Relapse-free", ylim=(0, 1))
    return png(fig)


def report(out: Path, results: dict, frames: dict, figures: dict) -> None:
    parts = [
        "<html><head><meta charset='utf-8'><title>Registry analysis</title></head><body>",
        "<h1>Registry analysis (pandas script)</h1>",
    ]
    for title, frame in frames.items():
        parts += [f"<h2>{title}</h2>", frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="")]
    for title, data in figures.items():
        parts += [f"<h2>{title}</h2>", f"<img src='data:image/png;base64,{data}' alt='{title}'>"]
    cox = results["relapse"]["cox"]
    parts.append(f"<p>Relapse HR {cox['hr']:.2f} ({cox['ci_low']:.2f}-{cox['ci_high']:.2f}), p = {cox['p']:.3g}</p>")
    (out / "report.html").write_text("\n".join(parts) + "</body></html>\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plan", type=Path, default=ROOT / "schemas" / "analysis_plan.toml")
    args = parser.parse_args(argv)
    plan = tomllib.loads(args.plan.read_text())
    data = read_data(args.db, plan)
    subjects = analysis_set(data, plan)
    pairs = make_pairs(data, plan, subjects)
    paired = paired_tests(pairs, plan)
    status = rate_status(pairs, plan)
    rate_table, mcnemar_table = rates(status, plan), mcnemar(status, plan)
    ratings = assessments(data, plan)
    onset = onsets(ratings, data, subjects, plan)
    baseline = onset.set_index("record_id")["baseline"]
    relapse = relapse_times(ratings, onset, data, plan)
    results = {
        "paired": paired.to_dict("records"),
        "rates": rate_table.to_dict("records"),
        "mcnemar": mcnemar_table.to_dict("records"),
        "relapse": {
            "subjects": relapse[["record_id", "cohort", "days", "event", "criterion", "onset_day"]].to_dict("records"),
            **survival(relapse, baseline, plan),
        },
    }
    for kind in KINDS:
        times = time_to_onset(onset, kind)
        results[f"time_to_{kind}"] = {"subjects": times.to_dict("records"), **survival(times, baseline, plan)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=lambda v: v.item()) + "\n")
    frames = {
        "Paired change from baseline": paired,
        "Response and remission": rate_table,
        "McNemar": mcnemar_table,
        "Cox models": pd.DataFrame(
            [{"analysis": k, **results[k]["cox"]} for k in ("relapse", *(f"time_to_{x}" for x in KINDS))]
        ),
    }
    figures = {"Mean change from baseline": change_plot(paired, plan), "Time to relapse": km_plot(relapse, plan)}
    report(args.out, results, frames, figures)


if __name__ == "__main__":
    main()
