"""Outputs that cannot be written are refused up front: what / where / fix, exit 2, nothing written."""

from __future__ import annotations

import hashlib

import pytest
from gate_registry import registry_copy

from registry.errors import OutputError, RegistryStateError

COMMANDS = {
    "analyze --out": ("analyze", "--out"),
    "export --out": ("export", "--format", "csv", "--out"),
    "validate --html": ("validate", "--html"),
}


def snapshot(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in folder.rglob("*")}


@pytest.fixture
def db(tmp_path):
    return registry_copy(tmp_path, "sample_export.csv")


def targets(tmp_path):
    (tmp_path / "existing.txt").write_text("someone's file")
    (tmp_path / "a_folder").mkdir()
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    return {
        "an existing file": (tmp_path / "existing.txt", "is a file"),
        "a path inside a file": (tmp_path / "existing.txt" / "out", "is a file, not a folder"),
        "/proc": ("/proc/registry_out/x", "system folder"),
        "a read-only folder": (readonly / "out", "read-only"),
    }


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", ["an existing file", "a path inside a file", "/proc", "a read-only folder"])
def test_an_output_that_cannot_be_written_is_refused_and_nothing_is_written(cli, db, tmp_path, command, case):
    target, expect = targets(tmp_path)[case]
    if command == "validate --html" and case == "an existing file":
        target, expect = tmp_path / "a_folder", "is a folder"  # --html wants a file: a folder is refused
    before = snapshot(tmp_path)
    result = cli(*COMMANDS[command], target, "--db", db)
    assert result.exit_code == 2, result.output
    assert expect in result.stderr and "where:" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(tmp_path) == before
    (tmp_path / "readonly").chmod(0o755)


def test_the_library_raises_output_error(db, tmp_path):
    from registry.adam.write import export_adam
    from registry.analysis.run import analyze

    (tmp_path / "existing.txt").write_text("x")
    with pytest.raises(OutputError):
        analyze(db, out_dir=tmp_path / "existing.txt")
    with pytest.raises(OutputError):
        export_adam(db, "csv", tmp_path / "existing.txt")


def test_validate_of_a_missing_registry_says_so_and_creates_no_file(cli, tmp_path):
    from registry import store

    result = cli("validate", "--db", tmp_path / "typo.duckdb")
    assert result.exit_code == 2
    assert "no registry at" in result.stderr and "fix:" in result.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RegistryStateError):
        store.connect(tmp_path / "typo.duckdb", create=False)
    assert list(tmp_path.iterdir()) == []
