# Exposure (tests/test_exposure.py): esketamine sessions per subject in cohort 1 of the
# fixture (A1..A6: 5, 3, 2, 0, 1, 8 sessions), quartiles by R's default type 7.
# Run: Rscript tests/data/r_reference/exposure.R   (R 4.x)
x <- c(5, 3, 2, 0, 1, 8)
print(quantile(x, c(0.25, 0.5, 0.75), type = 7), digits = 17)
#  25%  50%  75%
# 1.25 2.50 4.50
