# Visit windows (tests/test_visit_windows.py). Cohort 1 MADRS: W3's week-8 total is dated
# day 80, outside the week-8 window (42..70), so its pair is left out; the paired t-test is
# over the other five pairs. Run: Rscript tests/data/r_reference/visit_windows.R
base <- c(30, 28, 31, 27, 33)   # W1, W2, W4, W5, W6 (W3: 34)
wk8  <- c(18, 25, 29, 20, 14)   # (W3: 12, at day 80)
r <- t.test(wk8, base, paired = TRUE)
print(c(r$estimate, r$statistic, r$parameter, r$p.value, r$conf.int), digits = 15)
#      mean difference                    t                   df
#  -8.5999999999999996  -2.7387979477834725   4.0000000000000000
#   0.0519697866457406 -17.3182144721647617   0.1182144721647631
