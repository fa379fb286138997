"""Write seeded, fully synthetic REDCap exports of the registry's project.

The output is what REDCap's flat CSV record export of this project looks like: raw codes (or,
with ``labels``, the label export with raw column names), columns in REDCap's order computed
from ``schemas/registry_project/dictionary.csv``, one row per record x event or per
repeating-instrument instance, quoted the way PHP's ``fputcsv`` quotes, LF line endings, no BOM.

Examples
--------
>>> text = generate_export(patients=2, seed=1)
>>> text.splitlines()[0].split(",")[:3]
['record_id', 'redcap_event_name', 'redcap_repeat_instrument']

Command line::

    python -m sample_data.generate --patients 500 --seed 7 --out export.csv [--labels] [--dirty] [--phi]
    python -m sample_data.generate --bundled      # regenerate the files committed in sample_data/
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sample_data.patients import Record, iter_records, simulate_records
from sample_data.plant import plant_dirty, plant_phi
from sample_data.project import Layout

HERE = Path(__file__).resolve().parent
BUNDLED_SEED = 20260101
# (file name, patients, labels, dirty, phi): every committed sample, made by regenerate_bundled().
BUNDLED = (
    ("sample_export.csv", 120, False, False, False),
    ("sample_export_labels.csv", 120, True, False, False),
    ("dirty_export.csv", 60, False, True, False),
    ("phi_export.csv", 20, False, False, True),
)
# PHP fputcsv encloses a value holding a space, the delimiter, the enclosure, CR, LF or a tab.
_NEEDS_QUOTES = re.compile(r'[ ,"\r\n\t]')
# Streams derived from the seed, so --dirty and --phi never change the clean draws.
_DIRTY_STREAM = 1_000_003
_PHI_STREAM = 2_000_003


def quote(value: str) -> str:
    """Quote one CSV value the way REDCap's exports do.

    >>> print(quote("2020-01-02"), quote("Week 8"), quote('5" tall'))
    2020-01-02 "Week 8" "5"" tall"
    """
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


@dataclass
class Export:
    """A generated export: the records, how to render them, and the manifest of planted problems."""

    layout: Layout
    records: Iterable[Record]  # a list, or an iterator for a clean export written once
    labels: bool
    manifest: list[dict]

    def lines(self) -> Iterator[str]:
        """The CSV, one LF-terminated line at a time (header first)."""
        lay = self.layout
        idx = lay.index
        tables = [lay.translations.get(c) if self.labels else None for c in lay.columns]
        unchecked, gray = ("Unchecked", "Incomplete") if self.labels else ("0", "0")
        defaults: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for event in lay.events:
            for form in ["", *lay.event_forms[event]]:
                filled = []
                for f in lay.forms_on_row(event, form):
                    filled += [(idx[c], unchecked) for c in lay.checkbox_columns[f]]
                    filled.append((idx[f"{f}_complete"], gray))
                defaults[(event, form)] = filled
        event_cell = {e: quote(lay.event_labels[e] if self.labels else e) for e in lay.events}
        form_cell = {f: quote(lay.form_labels[f] if self.labels else f) for f in lay.form_labels}
        width = len(lay.columns)

        yield ",".join(quote(c) for c in lay.columns) + "\n"
        for rec in self.records:
            record_cell = quote(rec.record_id)
            dag_cell = quote(lay.dag_labels[rec.dag] if self.labels else rec.dag)
            for row in rec.rows:
                out = [""] * width
                out[0] = record_cell
                out[1] = event_cell[row.event]
                if row.form:
                    out[2] = form_cell[row.form]
                    out[3] = str(row.instance)
                out[4] = dag_cell
                for i, cell in defaults[(row.event, row.form)]:
                    out[i] = cell
                for col, value in row.values.items():
                    i = idx[col]
                    table = tables[i]
                    if table is not None:
                        value = table.get(value, value)
                    out[i] = quote(value)
                yield ",".join(out) + "\n"

    def text(self) -> str:
        return "".join(self.lines())

    def write(self, out: str | Path) -> Path:
        """Write the CSV (UTF-8, LF, no BOM) and, if problems were planted, its manifest."""
        out = Path(out)
        with open(out, "w", encoding="utf-8", newline="") as fh:
            fh.writelines(self.lines())
        if self.manifest:
            manifest_path(out).write_text(json.dumps(self.manifest, indent=2) + "\n", encoding="utf-8")
        return out


def manifest_path(out: str | Path) -> Path:
    """``dir/name.csv`` -> ``dir/name_manifest.json``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_manifest.json")


def build_export(patients: int, seed: int, labels: bool = False, dirty: bool = False, phi: bool = False,
                 layout: Layout | None = None) -> Export:
    """Simulate ``patients`` records from ``seed``, plant problems if asked, and return the export.

    The same seed gives the same underlying data whatever the flags: ``labels`` only changes how
    values are written, and ``dirty`` / ``phi`` draw from their own streams after the clean data.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    layout = layout or Layout()
    records = simulate_records(layout, patients, seed)
    manifest: list[dict] = []
    if dirty:
        manifest += plant_dirty(records, layout, random.Random(seed * 7 + _DIRTY_STREAM))
    if phi:
        manifest += plant_phi(records, layout, random.Random(seed * 7 + _PHI_STREAM))
    return Export(layout, records, labels, manifest)


def generate_export(patients: int, seed: int, labels: bool = False, dirty: bool = False,
                    phi: bool = False) -> str:
    """The export as CSV text (see build_export for the manifest of planted problems)."""
    return build_export(patients, seed, labels, dirty, phi).text()


def write_export(out: str | Path, patients: int, seed: int, labels: bool = False, dirty: bool = False,
                 phi: bool = False) -> Path:
    """Write the export to ``out`` (and ``<stem>_manifest.json`` with ``dirty`` or ``phi``)."""
    return build_export(patients, seed, labels, dirty, phi).write(out)


def regenerate_bundled(directory: str | Path = HERE) -> list[Path]:
    """Rewrite every committed sample file (BUNDLED) into ``directory``."""
    directory = Path(directory)
    layout = Layout()
    written = []
    for name, patients, labels, dirty, phi in BUNDLED:
        export = build_export(patients, BUNDLED_SEED, labels, dirty, phi, layout=layout)
        written.append(export.write(directory / name))
        if export.manifest:
            written.append(manifest_path(directory / name))
    return written


def _counting(records: Iterable[Record], sizes: list[int]) -> Iterator[Record]:
    """Yield ``records``, appending each one's number of rows to ``sizes``."""
    for record in records:
        sizes.append(len(record.rows))
        yield record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Write a fully synthetic REDCap export of the registry's project.",
    )
    parser.add_argument("--patients", type=int, default=120, help="number of records (default 120)")
    parser.add_argument("--seed", type=int, default=BUNDLED_SEED,
                        help=f"random seed (default {BUNDLED_SEED})")
    parser.add_argument("--out", type=Path, help="CSV file to write")
    parser.add_argument("--labels", action="store_true", help="label export (rawOrLabel=label, raw headers)")
    parser.add_argument("--dirty", action="store_true",
                        help="plant data-quality problems; lists them in <out stem>_manifest.json")
    parser.add_argument("--phi", action="store_true",
                        help="plant identifiers in free text; lists them in <out stem>_manifest.json")
    parser.add_argument("--bundled", action="store_true",
                        help="regenerate the sample files committed in sample_data/ and exit")
    args = parser.parse_args(argv)
    if args.bundled:
        for path in regenerate_bundled():
            print(f"wrote {path}", file=sys.stderr)
        return 0
    if args.out is None:
        parser.error("--out FILE is required (or use --bundled)")
    if args.patients < 1:
        parser.error("--patients must be at least 1")
    sizes: list[int] = []
    if args.dirty or args.phi:
        export = build_export(args.patients, args.seed, args.labels, args.dirty, args.phi)
        sizes = [len(r.rows) for r in export.records]
    else:  # a clean export is written record by record: the same file, in little memory
        layout = Layout()
        records = _counting(iter_records(layout, args.patients, args.seed), sizes)
        export = Export(layout, records, args.labels, [])
    path = export.write(args.out)
    print(f"wrote {path}: {len(sizes)} records, {sum(sizes)} rows", file=sys.stderr)
    if export.manifest:
        print(f"wrote {manifest_path(path)}: {len(export.manifest)} planted problems", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
