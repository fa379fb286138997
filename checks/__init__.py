"""Installed as ``registry._data.checks`` (see pyproject.toml); data only, read via registry.resources."""
