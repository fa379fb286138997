"""Writing outputs safely: checked up front, written under a temporary name, then renamed.

Every result the toolkit writes (results.json, report.html/.md, the data-quality HTML, the
ADaM exports) goes through here, so that

* a target that cannot be written (an existing file where a folder is wanted, a folder that is
  a file, ``/proc``, a read-only or unwritable folder) is refused with an :class:`OutputError`
  before any work is done and nothing is written;
* a killed or failed run never leaves a half-written file under its final name: files are
  written to a hidden temporary name beside the target and renamed over it (``os.replace``),
  folders are filled under a temporary name and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from registry.errors import OutputError

_PSEUDO_FS = (Path("/proc"), Path("/sys"), Path("/dev"))


def beside_registry(kind: str, db: str | Path) -> Path:
    """``<kind>/<registry name>/`` beside the registry file (``reports/registry/`` for
    ``registry.duckdb``): two registries in one folder never share their outputs."""
    db = Path(db).absolute()
    return db.parent / kind / db.stem


def batch_folder(root: str | Path, batch_id: int) -> Path:
    """One folder per batch: ``<root>/batch_<N>``."""
    return Path(root) / f"batch_{batch_id}"


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _probe(folder: Path, target: Path, option: str) -> None:
    """Refuse ``target`` unless a file can be created in ``folder`` (then removed again)."""
    if any(folder == p or p in folder.parents for p in _PSEUDO_FS):
        raise OutputError(f"cannot write to {folder}: it is a system folder, not a place for files",
                          where=f"{option} {target}", fix=f"give {option} a folder of your own")
    if not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder", where=f"{option} {target}",
                          fix=f"give {option} a path inside an existing folder")
    if not folder.stat().st_mode & 0o222:  # marked read-only: refused even for root, who could write
        raise OutputError(f"cannot write in {folder}: the folder is read-only", where=f"{option} {target}",
                          fix=f"give {option} a folder you can write to, or change its permissions")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}", where=f"{option} {target}",
                          fix=f"give {option} a folder you can write to, or change its permissions") from None


def check_output_file(path: str | Path, option: str = "--out", *, overwrite: bool = True) -> Path:
    """Check that the file ``path`` can be written; nothing is created.

    An existing folder at ``path`` is refused, and so is an existing file unless ``overwrite``.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a folder; a file is needed here", where=f"{option} {path}",
                          fix=f"give {option} a file name, e.g. {path / 'report.html'}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists", where=f"{option} {path}",
                          fix=f"remove it first, or give {option} a new name")
    _probe(_nearest_existing(path.parent.absolute()), path, option)
    return path


def check_output_dir(path: str | Path, option: str = "--out") -> Path:
    """Check that the folder ``path`` can be created or written into; nothing is created."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file, not a folder", where=f"{option} {path}",
                          fix=f"give {option} the name of a folder (it is created if missing)")
    _probe(_nearest_existing(path.absolute()), path, option)
    return path


def _makedirs(folder: Path, target: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror or exc}", where=str(target),
                          fix="choose a folder you can write to") from None


@contextlib.contextmanager
def atomic_file(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success rename it to ``path``.

    On an error (or a kill) the temporary file is removed (or left as a hidden ``.name.*.tmp``
    file) and ``path`` keeps its old content.
    """
    path = Path(path)
    _makedirs(path.parent, path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", where=str(path),
                          fix="choose a folder you can write to") from None
    try:
        with open(fd, mode, encoding=None if "b" in mode else encoding, newline=None) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> Path:
    with atomic_file(path) as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json(path: str | Path, obj, **kwargs) -> Path:
    """``obj`` as indented JSON with a final newline (``kwargs`` go to :func:`json.dumps`).

    The first two levels of objects are indented, one key per line, and a list of objects
    has one object per line; anything deeper is written on its line by the C encoder
    (``json.dumps`` with ``indent`` runs in pure Python: seconds for a large results.json).
    """
    return write_text(path, json_text(obj, **kwargs) + "\n")


def json_text(obj, **kwargs) -> str:
    """``obj`` as JSON laid out as :func:`write_json` writes it (``kwargs`` go to :class:`json.JSONEncoder`)."""
    return _json_text(obj, 2, "", json.JSONEncoder(**kwargs).encode)  # one encoder for every row


def _json_text(obj, depth: int, pad: str, encode) -> str:
    inner = pad + "  "
    if depth > 0 and isinstance(obj, dict) and obj:
        items = (f"{inner}{json.dumps(str(k))}: {_json_text(v, depth - 1, inner, encode)}" for k, v in obj.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        return "[\n" + ",\n".join(inner + encode(v) for v in obj) + f"\n{pad}]"
    return encode(obj)


@contextlib.contextmanager
def staged_files(folder: str | Path) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``folder``; on success move its files into ``folder``.

    The files are renamed into place only once all of them are written, each replacing a file
    of the same name; other files in ``folder`` are left alone. On an error nothing is moved
    and the staging folder is removed.
    """
    folder = Path(folder)
    _makedirs(folder, folder)
    try:
        staging = Path(tempfile.mkdtemp(prefix=".staging-", suffix=".tmp", dir=folder))
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}", where=str(folder),
                          fix="choose a folder you can write to") from None
    try:
        yield staging
        mask = _umask()
        for path in sorted(staging.iterdir()):
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
            os.replace(path, folder / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
