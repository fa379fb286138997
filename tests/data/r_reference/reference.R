# Reference values for tests/test_paired.py, test_rates.py, test_relapse.py.
# Run once:  Rscript tests/data/r_reference/reference.R > tests/data/r_reference/reference_output.txt
# R 4.2.2, survival 3.5-3. The tests pin these numbers; they never need R.
library(survival)
options(digits = 15)

cat("## paired: cohort 1, MADRS, baseline -> week 8\n")
base1 <- c(32, 28, 35, 30, 26, 33, 29, 31, 27, 34)
wk8_1 <- c(20, 25, 18, 30, 22, 15, 27, 19, 24, 21)
r <- t.test(wk8_1, base1, paired = TRUE)
print(unclass(r)[c("statistic", "parameter", "p.value", "conf.int", "estimate")])
r1 <- t.test(wk8_1, base1, paired = TRUE, alternative = "less")
cat("one-sided (less) p:", format(r1$p.value, digits = 15), "\n")
cat("sd(change):", format(sd(wk8_1 - base1), digits = 15), "\n")

cat("## paired: cohort 2, MADRS, baseline -> week 8 (effect in the wrong direction)\n")
base2 <- c(30, 25, 31, 28, 33, 27, 29, 26)
wk8_2 <- c(31, 27, 30, 33, 34, 25, 32, 30)
r <- t.test(wk8_2, base2, paired = TRUE)
print(unclass(r)[c("statistic", "parameter", "p.value", "conf.int", "estimate")])
r1 <- t.test(wk8_2, base2, paired = TRUE, alternative = "less")
cat("one-sided (less) p:", format(r1$p.value, digits = 15), "\n")

cat("## holm over the two two-sided p values above plus 0.2\n")
p <- c(t.test(wk8_1, base1, paired = TRUE)$p.value, t.test(wk8_2, base2, paired = TRUE)$p.value, 0.2)
print(p.adjust(p, method = "holm"))

cat("## binom.test (Clopper-Pearson)\n")
for (kn in list(c(3, 10), c(0, 8), c(8, 8), c(5, 18))) {
  b <- binom.test(kn[1], kn[2])
  cat(kn[1], "/", kn[2], ":", format(b$conf.int[1], digits = 15), format(b$conf.int[2], digits = 15), "\n")
}

cat("## survival\n")
d <- data.frame(
  t = c(12, 20, 20, 35, 42, 56, 60, 75, 90, 112, 120, 130,
        8, 15, 20, 20, 28, 30, 41, 56, 70, 84, 100, 126),
  e = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0,
        1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0),
  g = rep(c(1, 2), each = 12)
)
fit <- survfit(Surv(t, e) ~ g, data = d, conf.type = "log-log")
s <- summary(fit)
print(data.frame(strata = s$strata, time = s$time, n.risk = s$n.risk, n.event = s$n.event,
                 surv = s$surv, lower = s$lower, upper = s$upper), digits = 15)
print(quantile(fit, probs = 0.5))
print(summary(fit, times = c(0, 28, 56, 84, 112))[c("time", "n.risk", "strata")])
sd <- survdiff(Surv(t, e) ~ g, data = d)
cat("logrank chisq:", format(sd$chisq, digits = 15), " p:", format(pchisq(sd$chisq, 1, lower.tail = FALSE), digits = 15), "\n")
d$sirolimus <- as.integer(d$g == 1)
cx <- coxph(Surv(t, e) ~ sirolimus, data = d, ties = "efron")
sc <- summary(cx)
cat("cox coef:", format(coef(cx), digits = 15), " se:", format(sqrt(vcov(cx)[1, 1]), digits = 15), "\n")
cat("cox hr:", format(sc$conf.int[1, "exp(coef)"], digits = 15),
    " lower:", format(sc$conf.int[1, "lower .95"], digits = 15),
    " upper:", format(sc$conf.int[1, "upper .95"], digits = 15),
    " wald p:", format(sc$coefficients[1, "Pr(>|z|)"], digits = 15), "\n")

cat("## median when S(t) is exactly 0.5 on a flat stretch\n")
f2 <- survfit(Surv(c(5, 10, 15, 20), c(1, 1, 1, 1)) ~ 1, conf.type = "log-log")
print(quantile(f2, probs = 0.5))

cat("## median with its 95% CI as print(survfit(...)) reports it (summary(fit)$table)\n")
print(fit)
print(summary(fit)$table[, c("median", "0.95LCL", "0.95UCL")])
# 20 subjects, one group: both confidence limits of the median are reached
t3 <- c(3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 22, 25, 27, 30, 33, 36, 40, 45)
e3 <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 0)
f3 <- survfit(Surv(t3, e3) ~ 1, conf.type = "log-log")
print(f3)
print(summary(f3)$table[c("median", "0.95LCL", "0.95UCL")])
# S(t) exactly 0.5 on a flat stretch (f2 above): print gives the midpoint too
print(summary(f2)$table[c("median", "0.95LCL", "0.95UCL")])
# S(t) ends at exactly 0.5: print.survfit gives the day it got there, quantile() the midpoint
# up to the last follow-up time
f4 <- survfit(Surv(c(5, 10, 15, 20), c(1, 1, 0, 0)) ~ 1, conf.type = "log-log")
print(summary(f4)$table[c("median", "0.95LCL", "0.95UCL")])
print(quantile(f4, probs = 0.5))

cat("## McNemar: mcnemar.test(matrix(c(n11, c, b, n22), 2), correct = TRUE); binom.test(b, b + c)\n")
# rows: visit A met / not met; columns: visit B met / not met; b = met at A only, c = at B only
# each t = c(n11 met at both, b, c, n22 met at neither)
for (t in list(c(20, 3, 9, 8), c(10, 1, 5, 4), c(5, 4, 4, 7), c(5, 0, 1, 7), c(3, 12, 2, 9),
               c(30, 40, 25, 15), c(5, 0, 0, 7))) {
  m <- matrix(c(t[1], t[3], t[2], t[4]), 2)  # m[1, 2] = b, m[2, 1] = c
  b <- m[1, 2]; c <- m[2, 1]
  r <- suppressWarnings(mcnemar.test(m, correct = TRUE))
  pe <- if (b + c > 0) binom.test(b, b + c)$p.value else NA
  cat("b =", b, " c =", c, ": statistic", format(unname(r$statistic), digits = 15),
      " p", format(r$p.value, digits = 15), " exact p", format(pe, digits = 15), "\n")
}
