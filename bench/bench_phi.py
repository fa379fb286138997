"""PHI scan: recall and false-positive rate on tests/data/phi_corpus, and the scan's time on the
generated 20,000-patient export (read as the ingest reads it; every free-text cell, record ID and DAG).

Run: ``python bench/bench_phi.py`` (``make bench`` runs every bench/*.py). Targets (issue 12):
recall >= 95%, false positives <= 3%.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from registry import phi
from registry.redcap.export import read_export
from registry.redcap.project import load_default_project

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "phi_corpus"
OUT = ROOT / "bench_out"
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "20000"))


def phrases(name: str) -> list[str]:
    return [line for line in (CORPUS / name).read_text().splitlines() if line.strip() and not line.startswith("#")]


def corpus() -> dict:
    identifiers = [line.split("\t", 1) for line in phrases("identifiers.tsv")]
    clinical = phrases("clinical.tsv")
    found = phi.scan_texts([text for _, text in identifiers])
    flagged = phi.scan_texts(clinical)
    missed = [text for (_, text), kinds in zip(identifiers, found, strict=True) if not kinds]
    false = [text for text, kinds in zip(clinical, flagged, strict=True) if kinds]
    return {"identifiers": len(identifiers), "clinical": len(clinical),
            "recall": round(1 - len(missed) / len(identifiers), 3),
            "false_positive_rate": round(len(false) / len(clinical), 3),
            "missed": missed, "false_positives": false}


def scan_time(export: Path) -> dict:
    project = load_default_project()
    con = duckdb.connect()
    info = read_export(con, export, project)
    present = set(info.columns)
    fields = [f for f in project.dictionary.fields
              if f.name in present and (f.is_free_text or f.validation == "integer")]
    cells = con.execute("select count(*) from raw").fetchone()[0]
    start = time.perf_counter()
    hits = phi.scan_identifiers(con, "raw", fields) + phi.scan_keys(con, "raw")
    seconds = time.perf_counter() - start
    return {"rows": cells, "scanned_fields": len([f for f in fields if f.is_free_text]), "hits": len(hits),
            "scan_s": round(seconds, 3)}


def main() -> None:
    result = corpus()
    print(f"PHI corpus: recall {result['recall']:.1%} of {result['identifiers']} identifier phrases "
          f"(target >= 95%), false positives {result['false_positive_rate']:.1%} of {result['clinical']} "
          "clinical phrases (target <= 3%)")
    for text in result["missed"]:
        print(f"  missed: {text}")
    for text in result["false_positives"]:
        print(f"  flagged: {text}")
    OUT.mkdir(exist_ok=True)
    export = OUT / f"export_{PATIENTS}.csv"
    if not export.exists():
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--patients", str(PATIENTS), "--seed", "1",
                        "--out", str(export)], check=True, cwd=ROOT)
    timing = scan_time(export)
    print(f"PHI scan on the {PATIENTS}-patient export ({timing['rows']} rows, {timing['scanned_fields']} free-text "
          f"fields + record IDs and DAGs): {timing['scan_s']} s, {timing['hits']} hits")


if __name__ == "__main__":
    main()
