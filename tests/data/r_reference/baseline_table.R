# Reference values for tests/test_baseline_table.py (Table 1, issue 9).
# Run once:  Rscript tests/data/r_reference/baseline_table.R > tests/data/r_reference/baseline_table.txt
# R 4.2.2. The tests pin these numbers; they never need R.
options(digits = 15)
age1 <- c(34, 51, 47, 62, 29, 55, 41)
age2 <- c(38, 45, 70, 52)
for (x in list(age1, age2, c(age1, age2))) {
  cat(length(x), mean(x), sd(x), quantile(x, c(0.5, 0.25, 0.75), type = 7), "\n")
}
