"""CDISC ADaM-style analysis datasets (ADSL, ADQS, ADTTE) built from the current batch.

Each dataset is derived admiral-style (``pharmaverse/admiral``): a base table from SQL over
the same staged views the analyses read (:mod:`registry.analysis.stage`), then one small
``derive_*`` step per concept. :func:`registry.adam.build.build_adam` is the recipe;
:mod:`registry.adam.write` writes the datasets as SPSS, Stata, SAS transport, Parquet or CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from registry.errors import RegistryError

if TYPE_CHECKING:
    import pandas as pd


class AdamError(RegistryError):
    """An analysis dataset cannot be derived from the registry (a field is missing, a name is invalid)."""


class TransportFormatError(RegistryError):
    """A dataset does not fit the output format (SAS transport v5 limits); nothing was written."""


@dataclass
class Dataset:
    """One analysis dataset: its frame and the metadata every format carries.

    Attributes
    ----------
    name : str
        Lower-case dataset name (``adsl``); the file stem and the XPT member name.
    label : str
        Dataset label (at most 40 ASCII characters, for SAS transport v5).
    frame : pandas.DataFrame
        The rows; columns in :attr:`labels` order.
    labels : dict
        Variable name -> variable label.
    value_labels : dict
        Variable name -> {numeric code: label}, for numeric coded variables only.
    keys : tuple of str
        Variables that identify a row.
    """

    name: str
    label: str
    frame: pd.DataFrame
    labels: dict[str, str]
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    keys: tuple[str, ...] = ()


def select_labelled(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """The columns of ``frame`` named in ``labels``, in that order (a check that all exist).

    Raises
    ------
    AdamError
        A labelled variable was never derived (a bug in a derivation chain).
    """
    missing = [c for c in labels if c not in frame.columns]
    if missing:
        raise AdamError(
            f"variables {', '.join(missing)} were not derived",
            fix="this is a bug in registry.adam; report it with the command you ran",
        )
    return frame[list(labels)].reset_index(drop=True)
