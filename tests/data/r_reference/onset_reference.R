# Reference values for tests/test_onset.py: time to response from day 0 (issue 9).
# Data: onset_data.csv (onset_data.py, seeded). Run once from the repository root:
#   Rscript tests/data/r_reference/onset_reference.R > tests/data/r_reference/onset_reference.txt
# R 4.2.2, survival 3.5-3. The derivation is done here independently of the toolkit:
# onset = first rating after day 0 with (baseline - score) * 100 >= 50 * baseline;
# censored at the last rating after day 0; no baseline or no rating after day 0: left out.
library(survival)
options(digits = 15, width = 200)
d <- read.csv("tests/data/r_reference/onset_data.csv")
d <- d[d$day > 0 & !is.na(d$baseline), ]
ids <- unique(d$record_id)
s <- do.call(rbind, lapply(ids, function(id) {
  x <- d[d$record_id == id, ]; x <- x[order(x$day), ]
  hit <- x$day[(x$baseline - x$score) * 100 >= 50 * x$baseline]
  data.frame(record_id = id, cohort = x$cohort[1], baseline = x$baseline[1],
             days = if (length(hit)) min(hit) else max(x$day), event = length(hit) > 0)
}))
s$compare <- as.numeric(s$cohort == 1)
cat("## subjects (record_id days event)\n")
write.csv(s[, c("record_id", "cohort", "days", "event")], row.names = FALSE)
fit <- survfit(Surv(days, event) ~ cohort, data = s, conf.type = "log-log")
cat("## summary(fit)$table: median 0.95LCL 0.95UCL\n")
print(summary(fit)$table[, c("median", "0.95LCL", "0.95UCL")])
cat("## summary(fit): time n.risk n.event surv lower upper\n")
sm <- summary(fit)
print(data.frame(strata = sm$strata, time = sm$time, n.risk = sm$n.risk, n.event = sm$n.event,
                 surv = sm$surv, lower = sm$lower, upper = sm$upper))
cat("## survdiff(Surv(days, event) ~ cohort)\n")
print(survdiff(Surv(days, event) ~ cohort, data = s)$chisq)
cat("## coxph(Surv(days, event) ~ compare, ties = 'efron')\n")
m <- coxph(Surv(days, event) ~ compare, data = s, ties = "efron")
print(c(coef = unname(coef(m)), se = unname(sqrt(diag(vcov(m)))), p = summary(m)$coefficients[, "Pr(>|z|)"]))
cat("## coxph(Surv(days, event) ~ compare + baseline, ties = 'efron')\n")
m <- coxph(Surv(days, event) ~ compare + baseline, data = s, ties = "efron")
print(coef(m)); print(sqrt(diag(vcov(m)))); print(summary(m)$coefficients[, "Pr(>|z|)"])
