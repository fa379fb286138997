"""Data shipped inside the package.

``registry._data.schemas`` and ``registry._data.checks`` are the top-level ``schemas/`` and
``checks/`` folders of the source tree, mapped in at build time (pyproject.toml,
``[tool.setuptools.package-dir]``). Read them through :mod:`registry.resources`.
"""
