"""Installed as ``registry._data.schemas`` (see pyproject.toml); data only, read via registry.resources."""
