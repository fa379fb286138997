"""The plan's ``[report]`` table: settings of the report's figures.

::

    [report]
    max_trajectories = 200     # trajectory figure: every subject up to this many per cohort,
                               # else a seeded random sample of this many

A plan without ``[report]`` gets these defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.analysis.toml_table import TomlTable


def read_report(t: TomlTable) -> int:
    """Read ``[report]`` (``t`` may be empty); return ``max_trajectories``."""
    max_trajectories = t.get("max_trajectories", int, 200)
    if max_trajectories < 0:
        t.fail("max_trajectories", f"{max_trajectories} is negative", "set e.g. `max_trajectories = 200`")
    t.done()
    return max_trajectories
