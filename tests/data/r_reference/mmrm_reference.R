# Reference values for tests/test_mmrm.py (mixed-model repeated measures, issue 10).
# Data: mmrm_data.csv, written by mmrm_data.py (seeded). Run once from the repository root:
#   Rscript tests/data/r_reference/mmrm_reference.R > tests/data/r_reference/mmrm_reference.csv
# R 4.2.2, nlme, emmeans, lme4 + pbkrtest (Kenward-Roger). The tests pin these numbers; they never need R.
suppressPackageStartupMessages({ library(nlme); library(emmeans) })
options(digits = 15, width = 200)
d <- read.csv("tests/data/r_reference/mmrm_data.csv")
visits <- list(four = c("week_4_arm_1", "week_8_arm_1", "week_12_arm_1", "week_16_arm_1"),
               two = c("week_8_arm_1", "week_16_arm_1"))
ctl <- glsControl(natural = FALSE, maxIter = 200, msMaxIter = 200)
# emmeans re-evaluates the gls call (formula and data) to differentiate Var(b) numerically,
# so each call spells the formula and uses the global data frame `dd`.
fit_one <- function(structure) {
  switch(structure,
    "unstructured" = gls(change ~ cohort * visit + baseline, dd, correlation = corSymm(form = ~ visit_index | id),
                         weights = varIdent(form = ~ 1 | visit), method = "REML", control = ctl),
    "heterogeneous-cs" = gls(change ~ cohort * visit + baseline, dd, correlation = corCompSymm(form = ~ visit_index | id),
                             weights = varIdent(form = ~ 1 | visit), method = "REML", control = ctl),
    "cs" = gls(change ~ cohort * visit + baseline, dd, correlation = corCompSymm(form = ~ visit_index | id),
               method = "REML", control = ctl),
    "ar1" = gls(change ~ cohort * visit + baseline, dd, correlation = corAR1(form = ~ visit_index | id),
                method = "REML", control = ctl),
    "heterogeneous-ar1" = gls(change ~ cohort * visit + baseline, dd, correlation = corAR1(form = ~ visit_index | id),
                              weights = varIdent(form = ~ 1 | visit), method = "REML", control = ctl))
}
num <- function(x) format(x, digits = 15)
row <- function(...) writeLines(paste(..., sep = ","))
row("dataset", "structure", "kind", "cohort", "visit", "estimate", "se", "df", "ci_low", "ci_high", "p", "loglik", "bic")
for (ds in names(visits)) {
  dd <- d[d$dataset == ds, ]
  dd$cohort <- factor(dd$cohort, levels = sort(unique(dd$cohort)))
  dd$visit <- factor(dd$visit, levels = visits[[ds]])
  for (s in c("unstructured", "heterogeneous-cs", "cs", "ar1", "heterogeneous-ar1")) {
    fit <- fit_one(s)
    row(ds, s, "fit", "", "", "", "", "", "", "", "", num(as.numeric(logLik(fit))), num(BIC(fit)))
    em <- emmeans(fit, ~ cohort | visit, mode = "satterthwaite")
    sm <- summary(em)
    for (i in seq_len(nrow(sm)))
      row(ds, s, "lsmean", sm$cohort[i], sm$visit[i], num(sm$emmean[i]), num(sm$SE[i]), num(sm$df[i]),
          num(sm$lower.CL[i]), num(sm$upper.CL[i]), "", "", "")
    pr <- summary(pairs(em), infer = c(TRUE, TRUE))
    for (i in seq_len(nrow(pr)))
      row(ds, s, "difference", "1-2", pr$visit[i], num(pr$estimate[i]), num(pr$SE[i]), num(pr$df[i]),
          num(pr$lower.CL[i]), num(pr$upper.CL[i]), num(pr$p.value[i]), "", "")
  }
}
# Kenward-Roger: no R implementation for gls, but compound symmetry with a positive
# correlation is the random-intercept model, for which emmeans uses pbkrtest's
# Kenward-Roger (variance components sigma_b^2 and sigma^2, the cs parametrisation SAS uses).
suppressPackageStartupMessages({ library(lme4); library(pbkrtest) })
for (ds in names(visits)) {
  dd <- d[d$dataset == ds, ]
  dd$cohort <- factor(dd$cohort, levels = sort(unique(dd$cohort)))
  dd$visit <- factor(dd$visit, levels = visits[[ds]])
  fit <- lmer(change ~ cohort * visit + baseline + (1 | id), data = dd, REML = TRUE)
  em <- emmeans(fit, ~ cohort | visit, lmer.df = "kenward-roger")
  sm <- summary(em)
  for (i in seq_len(nrow(sm)))
    row(ds, "cs", "lsmean_kr", sm$cohort[i], sm$visit[i], num(sm$emmean[i]), num(sm$SE[i]), num(sm$df[i]),
        num(sm$lower.CL[i]), num(sm$upper.CL[i]), "", "", "")
  pr <- summary(pairs(em), infer = c(TRUE, TRUE))
  for (i in seq_len(nrow(pr)))
    row(ds, "cs", "difference_kr", "1-2", pr$visit[i], num(pr$estimate[i]), num(pr$SE[i]), num(pr$df[i]),
        num(pr$lower.CL[i]), num(pr$upper.CL[i]), num(pr$p.value[i]), "", "")
}
