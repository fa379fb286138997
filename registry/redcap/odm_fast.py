"""The records of an ODM export as REDCap writes them, read by DuckDB a line at a time.

Why our own code and not the XML parser: an XML parser calls back into Python (or builds an
element) for every ``ItemData``, millions of them in a large export, and that was most of the
ODM ingest's time. But the ``ClinicalData`` REDCap writes has a fixed shape, one element a
line — SubjectData, optionally StudyEventData, FormData, ItemGroupData, then
``<ItemData ItemOID="…" Value="…"/>`` — so DuckDB can read it as lines (``read_csv`` with one
column), split each at its double quotes (an attribute value cannot hold one), type it by its
tag and carry the context (record, event, form) down to each item with a streaming window, in
file order (``sql/odm_elements.sql``). Every line is checked against that layout: its shape,
the order of the elements (each may only follow what REDCap writes before it), the values
(no ``<``, only the five XML entities and legal character references), the item names, and
here the attributes of the structural tags; :mod:`~registry.redcap.odm_table` then builds the
export rows from the table ``odm_el`` this leaves.

Line breaks inside a tag (a multi-line value or attributes on several lines), ``\\r`` line
ends and elements side by side on one line are first rewritten, into a copy, as one element a
line (a break in a value as ``&#10;``, which is what the XML parser reads there).

Anything else — comments, CDATA, processing instructions, file fields
(``ItemDataBase64Binary``), ``IsNull``, text content, single-quoted or extra item attributes, a
namespace prefix on an element, an encoding other than UTF-8, a character XML does not allow —
raises :class:`NotRegular`, and the caller reads the whole file with the XML parser instead
(:func:`registry.redcap.odm_xml.iter_subjects`), which also says what and where for a malformed file.
"""

from __future__ import annotations

import pyexpat
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from registry.sqltext import reader

read_sql = reader("registry.redcap")

CHUNK = 8 << 20  # bytes scanned at a time


class NotRegular(Exception):
    """The ClinicalData is not in the shape REDCap writes: read it with the XML parser."""


_NAME = r"[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?"
_ENTITY = r"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"
_VALUE = rf"[^\"<&]*(?:{_ENTITY}[^\"<&]*)*"
VALUE = re.compile(_VALUE)
OID = re.compile(r"[\w.-]+")
TAGS = {1: "ClinicalData", 2: "SubjectData", 3: "StudyEventData", 4: "FormData", 5: "ItemGroupData"}
TAG_LINE = re.compile(rf"[ \t]*<(\w+)((?:[ \t]+{_NAME}=\"{_VALUE}\")*)>[ \t]*")
ATTR = re.compile(rf"({_NAME})=\"([^\"]*)\"")
ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
# Bytes XML 1.0 does not allow (and \r, which is rewritten): everything else is deleted to count them.
_OTHER_BYTES = bytes(b for b in range(256) if not (b < 9 or b in (11, 12, 13) or 14 <= b < 32))
_NONCHARACTER = re.compile(rb"\xef\xbf[\xbe\xbf]")
_BROKEN_LINE = re.compile(rb"[^>\s][ \t]*\n")  # a line that does not end a tag
_BLANK_LINE = re.compile(rb"^[ \t]*\n", re.MULTILINE)
_TAG = re.compile(rb"<(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*>")


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name[0] != "#":
        return NAMED[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
            or 0x10000 <= code <= 0x10FFFF):
        raise NotRegular(f"character reference &{name}; is not a legal XML character")
    return chr(code)


def unescape(value: str) -> str:
    return ENTITY.sub(_entity, value) if "&" in value else value


@dataclass
class Elements:
    """What the caller needs beside the table ``odm_el``: the structural tags' attributes (by the
    tag's line), and the item values holding entities, decoded."""

    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    decoded: dict[str, str] = field(default_factory=dict)
    oids: list[str] = field(default_factory=list)


class _Found(Exception):
    """ClinicalData starts here (raised from the parser's callback to stop it)."""


class _Scope:
    """Where ClinicalData starts in the file, and the namespace prefixes in scope there."""

    def __init__(self):
        self.offset: int | None = None
        self.prefixes: set[str] = set()
        self.pending: list[str] = []


def _doctype(*_args) -> None:
    raise NotRegular("a DOCTYPE (its entities and attribute defaults are the XML parser's to apply)")


def clinical_data(path: Path) -> tuple[int, set[str]]:
    """The byte offset of ``<ClinicalData`` and the prefixes declared on it or on ``<ODM>``."""
    scope = _Scope()
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    parser.StartNamespaceDeclHandler = lambda prefix, _uri: scope.pending.append(prefix or "")

    def start(name, _attrs):
        local = name.rsplit(" ", 1)[-1]
        if local in ("ODM", "ClinicalData"):
            scope.prefixes.update(scope.pending)
        scope.pending.clear()
        if local == "ClinicalData":
            scope.offset = parser.CurrentByteIndex
            raise _Found

    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _doctype
    with path.open("rb") as fh:
        head = fh.read(200)
        declared = re.match(rb"(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding=[\"']([^\"']+)", head)
        if declared and declared.group(1).lower().replace(b"-", b"") != b"utf8":
            raise NotRegular("not UTF-8")
        fh.seek(0)
        try:
            parser.ParseFile(fh)
        except _Found:
            return scope.offset, scope.prefixes
        except pyexpat.ExpatError:
            raise NotRegular("the XML parser stops before ClinicalData") from None
    raise NotRegular("no ClinicalData")


def attributes(text: str, prefixes: set[str]) -> dict[str, str]:
    """Attributes of a structural element by their names as written (``redcap:UniqueEventName``)."""
    out, local = {}, set()
    for m in ATTR.finditer(text):
        name = m.group(1)
        prefix, _, name_local = name.rpartition(":")
        if name.startswith("xmlns") or (prefix and prefix not in prefixes) or name_local in local:
            raise NotRegular(f"attribute {name}")
        local.add(name_local)
        out[name] = unescape(m.group(2))
    return out


def read_elements(con, path: Path, tmp: Path) -> Elements:
    """Load the ClinicalData of ``path`` into the temp table ``odm_el`` (``tmp``: a folder for a
    rewritten copy); :class:`NotRegular` when it is not in REDCap's layout.

    The file itself is read first; when that finds lines not in the layout (a tag over several
    lines, elements side by side), its ClinicalData is rewritten one element a line and read again.
    """
    offset, prefixes = clinical_data(path)
    rewrite, skip = _check_bytes(path, offset)
    if not rewrite:
        try:
            return _read(con, path, skip, prefixes)
        except NotRegular:
            pass
    copy = tmp / "clinical_data.xml"
    with copy.open("wb") as out:
        for chunk in _chunks(path, offset):
            out.write(one_element_a_line(chunk))
    return _read(con, copy, 0, prefixes)


def _read(con, source: Path, skip: int, prefixes: set[str]) -> Elements:
    try:
        con.execute(read_sql("odm_lines"), {"path": str(source), "skip": skip})
        con.execute(read_sql("odm_elements"))
        con.execute("drop table odm_lines")
    except duckdb.Error as exc:  # e.g. bytes that are not UTF-8
        raise NotRegular(f"the lines cannot be read ({str(exc).splitlines()[0]})") from None
    bad, ends = con.execute("select min(k) filter (where not ok), count(*) filter (where kind = 12) "
                            "from odm_el").fetchone()
    if bad is not None:
        raise NotRegular(f"line {skip + bad} of {source} is not in REDCap's layout")
    if ends != 1:
        raise NotRegular("the file ends before </ODM>")
    con.execute(read_sql("odm_forms"))
    bad = con.execute("select min(k) from odm_forms where not ok").fetchone()[0]
    if bad is not None:
        raise NotRegular(f"line {skip + bad} of {source}: an event where REDCap does not write one")
    out = Elements()
    for kind, text in con.execute("select distinct kind, text from odm_el where text is not null").fetchall():
        m = TAG_LINE.fullmatch(text)
        if m is None or m.group(1) != TAGS[kind]:
            raise NotRegular(f"a tag not in REDCap's layout: {text[:80]!r}")
        if kind in (2, 3, 4):  # the tags whose attributes are read
            out.tags[text] = attributes(m.group(2), prefixes)
    out.oids = [oid for (oid,) in con.execute("select distinct oid from odm_el where kind = 6").fetchall()]
    if not all(OID.fullmatch(oid) for oid in out.oids) or len({o.lower() for o in out.oids}) != len(out.oids):
        raise NotRegular("an ItemOID not in REDCap's layout (or two that differ only in case)")
    for (value,) in con.execute("select distinct value from odm_el where kind = 6 and contains(value, '&')").fetchall():
        if not VALUE.fullmatch(value):
            raise NotRegular(f"a value with a stray '&': {value[:80]!r}")
        out.decoded[value] = unescape(value)
    return out


def _check_bytes(path: Path, offset: int) -> tuple[bool, int]:
    """Whether the ClinicalData must be rewritten before DuckDB reads it (``\\r`` line ends, or it
    does not start a line: DuckDB reads a lone ``\\r`` as a line end), and the lines before it;
    :class:`NotRegular` for a character XML does not allow (control characters, U+FFFE, U+FFFF)."""
    with path.open("rb") as fh:
        head = fh.read(offset)
        if fh.read(len(b"<ClinicalData")) != b"<ClinicalData":
            raise NotRegular("ClinicalData start tag")
        rewrite = b"\r" in head or bool(head[head.rfind(b"\n") + 1:].strip(b" \t"))
        tail = b""
        while block := fh.read(CHUNK):
            controls = block.translate(None, _OTHER_BYTES)
            if controls.replace(b"\r", b""):
                raise NotRegular("a control character XML does not allow")
            window = tail + block
            if b"\xef\xbf" in window and _NONCHARACTER.search(window):
                raise NotRegular("U+FFFE or U+FFFF, which XML does not allow")
            rewrite = rewrite or bool(controls)
            tail = block[-2:]
    return rewrite, head.count(b"\n")


def _chunks(path: Path, offset: int):
    """The bytes from ``offset`` on, cut only at the start of a line whose first non-blank is ``<``
    (never inside a tag: a tag or a value cannot hold a ``<``)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        carry = b""
        while data := fh.read(CHUNK):
            buf = carry + data
            cut = _line_start_before_tag(buf)
            if cut <= 0:
                carry = buf
                continue
            yield buf[:cut]
            carry = buf[cut:]
        if carry:
            yield carry


def _line_start_before_tag(buf: bytes) -> int:
    """The offset of the last line of ``buf`` that starts (after blanks) with ``<``; 0 if none."""
    end = len(buf)
    while (lt := buf.rfind(b"<", 0, end)) > 0:
        start = buf.rfind(b"\n", 0, lt) + 1
        if start > 0 and not buf[start:lt].strip(b" \t"):
            return start
        end = start
    return 0


def one_element_a_line(chunk: bytes) -> bytes:
    """``\\r`` line ends as ``\\n``, elements side by side on lines of their own, each tag that spans
    lines on one line (a break in a quoted value as ``&#10;``, between attributes as a space), no
    blank lines."""
    chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"><", b">\n<")
    out, last = [], 0
    for m in _BROKEN_LINE.finditer(chunk):
        if m.start() < last:
            continue
        start = chunk.rfind(b"<", last, m.end())
        tag = _TAG.match(chunk, start) if start >= 0 else None
        if tag is None or tag.end() < m.end():
            continue  # the break is not inside a tag: the line check refuses it
        parts = tag.group().split(b'"')
        out += [chunk[last:start], b'"'.join(p.replace(b"\n", b"&#10;" if i % 2 else b" ")
                                              for i, p in enumerate(parts))]
        last = tag.end()
    out.append(chunk[last:])
    return _BLANK_LINE.sub(b"", b"".join(out))
