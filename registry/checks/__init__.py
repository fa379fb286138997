"""The data-quality gate: expectation suites in ``checks/``, run on the current batch.

- :mod:`registry.checks.build` writes the dictionary-driven suites (``registry checks build``);
  :mod:`registry.checks.branching` and :mod:`registry.checks.calc` translate REDCap branching
  logic and calculations for it.
- :mod:`registry.checks.suites` loads and checks the suite files (Great Expectations 1.x JSON).
- :mod:`registry.checks.compile` turns each expectation into DuckDB SQL that returns the
  offending rows; :mod:`registry.checks.gate` runs them all, tracks findings across batches
  and records the run; :mod:`registry.checks.report` renders the summary and HTML report.
- :mod:`registry.checks.gx_pandas` runs the same suites through Great Expectations on pandas
  frames (the reference the SQL path is tested and benchmarked against).

Nothing here imports Great Expectations or pandas at import time.
"""
