"""registry/outputs.py: outputs are checked first, written under a temporary name, then renamed."""

from __future__ import annotations

import os

import pytest

from registry import outputs
from registry.errors import OutputError


def test_write_text_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "reports" / "results.json"
    outputs.write_json(target, {"a": 1})
    outputs.write_json(target, {"a": 2})
    assert target.read_text() == '{\n  "a": 2\n}\n'
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old report")
    with pytest.raises(RuntimeError), outputs.atomic_file(target) as fh:
        fh.write("half a new rep")
        raise RuntimeError("killed")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_staged_files_move_in_together_and_leave_other_files_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "adsl.csv").write_text("old")
    with outputs.staged_files(tmp_path) as staging:
        (staging / "adsl.csv").write_text("new")
        (staging / "adqs.csv").write_text("new")
        assert not (tmp_path / "adqs.csv").exists()  # nothing in place before the block ends
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adqs.csv", "adsl.csv", "notes.txt"]
    assert (tmp_path / "adsl.csv").read_text() == "new"


def test_failed_staged_files_move_nothing(tmp_path):
    with pytest.raises(RuntimeError), outputs.staged_files(tmp_path / "out") as staging:
        (staging / "adsl.csv").write_text("new")
        raise RuntimeError("killed")
    assert list((tmp_path / "out").iterdir()) == []


def test_written_files_get_ordinary_permissions(tmp_path):
    path = outputs.write_text(tmp_path / "r.md", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("target, expect", [
    ("existing_file/out", "is a file, not a folder"),
    ("/proc/registry_out", "system folder"),
])
def test_check_output_dir_refuses_files_and_system_folders_without_creating_anything(tmp_path, target, expect):
    (tmp_path / "existing_file").write_text("x")
    path = tmp_path / target if not target.startswith("/") else target
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=expect) as err:
        outputs.check_output_dir(path)
    assert err.value.where.startswith("--out") and err.value.fix
    assert sorted(tmp_path.rglob("*")) == before


def test_check_output_file_refuses_a_folder_and_an_existing_file_when_asked(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        outputs.check_output_file(tmp_path, "--html")
    (tmp_path / "r.html").write_text("x")
    with pytest.raises(OutputError, match="already exists"):
        outputs.check_output_file(tmp_path / "r.html", "--html", overwrite=False)
    assert outputs.check_output_file(tmp_path / "new" / "r.html", "--html") == tmp_path / "new" / "r.html"
    assert not (tmp_path / "new").exists()


def test_check_output_dir_refuses_an_unwritable_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write in"):
            outputs.check_output_dir(locked / "reports")
    finally:
        locked.chmod(0o700)
