"""Write the analysis datasets: SPSS (.sav), Stata (.dta), SAS transport v5 (.xpt), Parquet, CSV.

Every format carries the variable labels: inside the file for .sav, .dta, .xpt and Parquet
(as field metadata ``label``), and in ``metadata.json``, written beside every format, which
lists each dataset's variables, labels, types and value labels. Value labels (dictionary
choices and ADaM decodes) are inside .sav and .dta; for .xpt they are in ``formats.sas``.
Everything is checked and written to a temporary folder first, then moved into ``out``: a
refused or failed export leaves ``out`` as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from registry.adam import Dataset, TransportFormatError
from registry.adam.transport import check_transport, render_formats_sas, write_xpt
from registry.outputs import batch_folder, beside_registry, check_output_dir, staged_files, write_json, write_text

if TYPE_CHECKING:
    import pandas as pd

    from registry.adam.build import AdamData

FORMATS = ("sav", "dta", "xpt", "parquet", "csv")


def to_readstat_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable numeric columns as float64 with NaN (what pyreadstat writes as missing)."""
    import numpy as np

    out = frame.copy()
    for name in out.columns:
        if out[name].dtype != object:
            out[name] = out[name].to_numpy(dtype="float64", na_value=np.nan)
    return out


def _integer_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if str(frame[c].dtype) in {"Int64", "Int32", "int64"}]


def _write_sav(ds: Dataset, path: Path) -> None:
    import pyreadstat

    frame = to_readstat_frame(ds.frame)
    measure = {c: "nominal" if c in ds.value_labels or ds.frame[c].dtype == object else "scale" for c in frame.columns}
    pyreadstat.write_sav(
        frame,
        path,
        file_label=ds.label,
        column_labels=[ds.labels[c] for c in frame.columns],
        variable_value_labels=ds.value_labels,
        variable_measure=measure,
        variable_format={c: "F8.0" for c in _integer_columns(ds.frame)},
    )


def _write_dta(ds: Dataset, path: Path) -> None:
    import pyreadstat

    pyreadstat.write_dta(
        to_readstat_frame(ds.frame),
        path,
        file_label=ds.label,
        column_labels=[ds.labels[c] for c in ds.frame.columns],
        variable_value_labels=ds.value_labels,
        version=15,
    )


def _write_parquet(ds: Dataset, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(ds.frame, preserve_index=False)
    fields = []
    for f in table.schema:
        meta = {b"label": ds.labels[f.name].encode("utf-8")}
        if f.name in ds.value_labels:
            meta[b"value_labels"] = json.dumps({str(k): v for k, v in ds.value_labels[f.name].items()}).encode()
        fields.append(f.with_metadata(meta))
    schema = pa.schema(fields, metadata={**(table.schema.metadata or {}), b"dataset_label": ds.label.encode()})
    pq.write_table(table.cast(schema), path)


def _write_csv(ds: Dataset, path: Path) -> None:
    from registry.safe_text import csv_cell

    frame = ds.frame.copy()
    for name in frame.columns:  # text cells a spreadsheet would run as a formula get a leading '
        if frame[name].dtype == object or str(frame[name].dtype) in ("string", "str"):
            frame[name] = frame[name].map(csv_cell)
    frame.to_csv(path, index=False, na_rep="", lineterminator="\n")


WRITERS = {"sav": _write_sav, "dta": _write_dta, "parquet": _write_parquet, "csv": _write_csv}


def describe(data: AdamData, fmt: str) -> dict:
    """The content of ``metadata.json``: provenance and every variable's label and type."""
    from registry import __version__

    return {
        "toolkit_version": __version__,
        "format": fmt,
        "batch": data.batch,
        "plan": {"sha256": data.plan_sha256, "file": data.plan_file},
        "datasets": {
            ds.name: {
                "label": ds.label,
                "rows": int(len(ds.frame)),
                "keys": list(ds.keys),
                "variables": [
                    {
                        "name": c,
                        "label": ds.labels[c],
                        "type": "text" if ds.frame[c].dtype == object else "number",
                        "value_labels": {str(k): v for k, v in ds.value_labels.get(c, {}).items()} or None,
                    }
                    for c in ds.frame.columns
                ],
            }
            for ds in data.datasets
        },
    }


def write_datasets(data: AdamData, fmt: str, out: str | Path) -> list[Path]:
    """Write ADSL, ADQS and ADTTE to ``out`` as ``<name>.<fmt>`` plus ``metadata.json``
    (and ``formats.sas`` for xpt).

    Returns
    -------
    list of Path
        The files written, in ``out``.

    Raises
    ------
    TransportFormatError
        ``fmt`` is unknown, or (xpt) a name, label or value would be cut; nothing is written.
    """
    if fmt not in FORMATS:
        raise TransportFormatError(
            f"unknown export format '{fmt}'", where="--format", fix=f"use one of {', '.join(FORMATS)}"
        )
    out = Path(out)
    if fmt == "xpt":
        check_transport(data.datasets)
    names = []
    with staged_files(out) as staging:
        for ds in data.datasets:
            path = staging / f"{ds.name}.{fmt}"
            if fmt == "xpt":
                write_xpt(ds, to_readstat_frame(ds.frame), path)
            else:
                WRITERS[fmt](ds, path)
            names.append(path.name)
        meta = describe(data, fmt)
        write_json(staging / "metadata.json", meta, default=str)
        names.append("metadata.json")
        if fmt == "xpt":
            header = (
                f"Written by registry {meta['toolkit_version']} from batch {data.batch['batch_id']} "
                f"(source sha256 {data.batch['source_sha256']}),\nanalysis plan sha256 {data.plan_sha256}."
            )
            write_text(staging / "formats.sas", render_formats_sas(data.datasets, header) + "\n")
            names.append("formats.sas")
    return [out / name for name in names]


def export_adam(db: str | Path | None, fmt: str, out: str | Path | None = None,
                plan_path: str | Path | None = None, *, exports_root: str | Path | None = None) -> tuple:
    """Build the datasets from the registry and write them: ``(AdamData, files)``.

    ``out`` defaults to ``<exports_root>/batch_<N>/<fmt>/`` for the current batch N, and
    ``exports_root`` to ``exports/<registry name>/`` beside the registry file. The target is
    checked before anything is built; nothing is written when it cannot be.
    """
    from registry.adam.build import build_adam
    from registry.store import resolve_db

    if fmt not in FORMATS:
        raise TransportFormatError(
            f"unknown export format '{fmt}'", where="--format", fix=f"use one of {', '.join(FORMATS)}"
        )
    root = exports_root or beside_registry("exports", resolve_db(db))
    check_output_dir(out if out is not None else root)
    data = build_adam(db, plan_path)
    if out is None:
        out = batch_folder(root, data.batch["batch_id"]) / fmt
    return data, write_datasets(data, fmt, out)
