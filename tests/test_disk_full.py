"""A full disk: ingest, validate, analyze and export say "no space left on device" with where and
fix, exit 2, and leave the registry and earlier outputs as they were.

The disk is a tiny tmpfs (needs root and mount, as on the developers' machines and CI); where it
cannot be mounted, the write layer is made to raise ENOSPC instead.
"""

from __future__ import annotations

import errno
import hashlib
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import SAMPLE, Cli, batches_and_schemas

EXPORT = SAMPLE / "sample_export.csv"
SMALL = SAMPLE.parent / "tests" / "data" / "redcap" / "REDCapR" / "repeating-instruments-sparse"


def _mount(size: str) -> Path | None:
    point = Path("/tmp") / f"registry-disk-full-{uuid.uuid4().hex[:8]}"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        point.rmdir()
        return None
    return point


@pytest.fixture
def tiny_disk():
    """An 8 MB disk, unmounted afterwards; skips where mounting is not allowed (the ENOSPC test still runs)."""
    point = _mount("8m")
    if point is None:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    yield point
    import gc

    gc.collect()  # connections a refused command left for the garbage collector
    subprocess.run(["umount", "--lazy", str(point)], check=False)
    point.rmdir()


def fill(disk: Path) -> None:
    with (disk / "filler").open("wb", buffering=0) as fh:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def runs(db: Path) -> int:
    from registry import store

    con = store.connect(db, read_only=True)
    try:
        return con.execute("select count(*) from registry.validation_runs").fetchone()[0]
    finally:
        con.close()


def says_disk_full(result) -> None:
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "no space left on device" in result.stderr.lower()
    assert "where:" in result.stderr and "fix: free some space" in result.stderr
    assert "Traceback" not in result.stderr and "cannot rollback" not in result.stderr


def test_ingest_on_a_full_disk_is_refused_and_the_registry_keeps_its_batches(tiny_disk):
    cli = Cli()
    db = tiny_disk / "registry.duckdb"
    assert cli("ingest", SMALL / "data.csv", "--dictionary", SMALL / "dictionary.csv", "--db", db).exit_code == 0
    before = batches_and_schemas(db)
    fill(tiny_disk)
    result = cli("ingest", EXPORT, "--db", db)
    says_disk_full(result)
    (tiny_disk / "filler").unlink()
    assert batches_and_schemas(db) == before
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0  # and it works once there is room


def test_validate_analyze_and_export_on_a_full_disk_keep_the_registry_and_earlier_outputs(tiny_disk):
    cli = Cli()
    db = tiny_disk / "registry.duckdb"
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0
    assert cli("validate", "--db", db).exit_code in (0, 1)
    assert cli("export", "--format", "csv", "--out", tiny_disk / "adam", "--db", db).exit_code == 0
    before, reports, adam, validated = batches_and_schemas(db), digests(tiny_disk / "reports"), \
        digests(tiny_disk / "adam"), runs(db)
    fill(tiny_disk)
    says_disk_full(cli("validate", "--db", db))
    says_disk_full(cli("analyze", "--db", db, "--out", tiny_disk / "new", "--override-gate", "disk test"))
    assert not (tiny_disk / "new" / "results.json").exists()
    says_disk_full(cli("export", "--format", "parquet", "--out", tiny_disk / "adam2", "--db", db))
    (tiny_disk / "filler").unlink()
    assert batches_and_schemas(db) == before and runs(db) == validated
    assert digests(tiny_disk / "reports") == reports and digests(tiny_disk / "adam") == adam


def test_a_write_that_raises_enospc_is_reported_as_a_full_disk(tmp_path, monkeypatch):
    cli = Cli()
    db = tmp_path / "registry.duckdb"
    assert cli("ingest", EXPORT, "--db", db).exit_code == 0

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    import registry.outputs

    monkeypatch.setattr(registry.outputs.os, "replace", no_space)
    result = cli("analyze", "--db", db, "--out", tmp_path / "out", "--override-gate", "disk test")
    says_disk_full(result)
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # no half-written results.json
