"""Data queries: findings of the gate sent to sites as spreadsheets and their answers read back.

:mod:`registry.queries.state` lists every query with its status across batches;
:mod:`registry.queries.sheets` writes one spreadsheet per site; :mod:`registry.queries.answers`
reads the filled-in sheets back, checks every row, and records the answers.
"""
