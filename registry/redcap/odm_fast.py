"""The records of an ODM export as REDCap writes them, read without building XML elements.

Why our own code and not the XML parser: an XML parser calls back into Python (or builds an
element) for every ``ItemData``, millions of them in a large export, and that was most of the
ODM ingest's time. But the ``ClinicalData`` REDCap writes has a fixed shape — SubjectData,
optionally StudyEventData, FormData, ItemGroupData, then ``<ItemData ItemOID="…" Value="…"/>``
— so it is a regular language: each chunk of the file is first matched *whole* against that
grammar (every byte accounted for: tags, attributes in double quotes, the five XML entities and
character references, legal characters only), and only then are the values taken out, a form at
a time, by C-level regular expressions.

Anything outside that shape — comments, CDATA, processing instructions, file fields
(``ItemDataBase64Binary``), ``IsNull``, text content, single-quoted or extra item attributes, a
namespace prefix on an element, an encoding other than UTF-8, an invalid character — raises
:class:`NotRegular`, and the caller reads the whole file with the XML parser instead
(:func:`registry.redcap.odm_xml.iter_subjects`), which also says what and where for a malformed
file. Values are what that parser gives: raw line breaks and tabs inside attribute values are
kept (``\\r\\n`` and ``\\r`` read as ``\\n``), as :class:`registry.redcap.odm_xml._KeepBreaks` keeps them.
"""

from __future__ import annotations

import pyexpat
import re
from collections.abc import Iterator
from pathlib import Path

CHUNK = 8 << 20  # bytes read at a time; a chunk ends after its last </SubjectData>


class NotRegular(Exception):
    """The ClinicalData is not in the shape REDCap writes: read it with the XML parser."""


_S = r"[ \t\n]*+"
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-\w]*(?::[A-Za-z_][A-Za-z0-9_.\-\w]*)?"  # [\w.-], ASCII first (see item)
_CHAR = r"[^\"<&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # in an attribute value, but for an entity
_ENTITY = r"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"


def _grammar(value: str) -> re.Pattern:
    """Whole SubjectData elements as REDCap writes them (attribute values matching ``value``).

    The grammar is unambiguous, so every repeat is possessive (``*+``): the matcher keeps no
    backtracking state, which makes it about twice as fast.
    """
    attrs = rf"(?:[ \t\n]++{_NAME}=\"{value}\")*+"
    # [A-Za-z0-9_.\-\w] is [\w.-] (the same characters) with the ASCII ones listed first: matched faster
    item = rf"<ItemData ItemOID=\"[A-Za-z0-9_.\-\w]++\" Value=\"{value}\"/>"
    group = rf"<ItemGroupData{attrs}>{_S}(?:{item}{_S})*+</ItemGroupData>{_S}"
    form = rf"<FormData{attrs}>{_S}(?:{group})*+</FormData>{_S}"
    event = rf"<StudyEventData{attrs}>{_S}(?:{form})*+</StudyEventData>{_S}"
    subject = rf"<SubjectData{attrs}>{_S}(?:(?:{event})++|(?:{form})*+)</SubjectData>{_S}"
    return re.compile(rf"{_S}(?:{subject})*+")


# Without entities the grammar matches faster: it is used for a chunk with no '&'.
SUBJECTS = _grammar(f"{_CHAR}*+")
SUBJECTS_ENTITIES = _grammar(f"{_CHAR}*+(?:{_ENTITY}{_CHAR}*+)*+")
_ATTRS = rf"(?:[ \t\n]+{_NAME}=\"[^\"<]*\")*"  # already matched by the grammar: only taken apart here
START = re.compile(rf"<ClinicalData(?:[ \t\n]+{_NAME}=\"{_CHAR}*(?:{_ENTITY}{_CHAR}*)*\")*>")
END = re.compile(rf"{_S}</ClinicalData>{_S}</ODM>{_S}")
# The start tags of records, events and forms; REDCap's own FormData (its two attributes) first.
TAG = re.compile(rf"<(?:FormData FormOID=\"([^\"&]*)\" FormRepeatKey=\"([^\"&]*)\">"
                 rf"|(SubjectData|StudyEventData|FormData)({_ATTRS})>)")
ITEMS = re.compile(r"<ItemData ItemOID=\"([^\"]*)\" Value=\"([^\"]*)\"/>")
ATTR = re.compile(rf"({_NAME})=\"([^\"]*)\"")
ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


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


def _chunks(path: Path, offset: int, stop: int | None = None) -> Iterator[str]:
    """The text from ``offset`` to ``stop`` (the end of the file if None), cut after a ``</SubjectData>``;
    line ends read as ``\\n``."""
    with path.open("rb") as fh:
        fh.seek(offset)
        left = -1 if stop is None else stop - offset
        carry = b""
        while True:
            data = fh.read(CHUNK if left < 0 else min(CHUNK, left))
            left -= len(data)
            buf = carry + data
            cut = len(buf)
            if data:  # up to the last </SubjectData>, or nothing yet when the chunk holds none
                last = buf.rfind(b"</SubjectData>")
                cut = last + len(b"</SubjectData>") if last >= 0 else 0
            piece, carry = buf[:cut], buf[cut:]
            if piece:
                if b"\r" in piece:
                    piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                try:
                    yield piece.decode("utf-8")
                except UnicodeDecodeError:
                    raise NotRegular("not UTF-8") from None
            if not data:
                return


Form = tuple[dict[str, str] | None, dict[str, str], dict[str, str]]  # (event attrs, form attrs, cells)


def part_subjects(path: Path, start: int, stop: int | None, prefixes: set[str], datetimes: set[str], *,
                  first: bool = True, last: bool = True) -> Iterator[tuple[dict[str, str], list[Form]]]:
    """Each SubjectData's attributes and its forms, in file order, of the bytes ``start`` to ``stop`` of the
    file (``start``, ``prefixes``: :func:`clinical_data`'s; ``stop`` None: the end of the file): the
    ClinicalData start tag and then records if ``first`` (else records from the first byte on), records
    and then the end of the file if ``last`` (else records to the last byte). :class:`NotRegular` when the
    bytes are not in REDCap's shape (raised before any value of the chunk that is not)."""
    ended = False
    for text in _chunks(path, start, stop):
        pos = 0
        if first:
            start_tag = START.match(text)
            if start_tag is None:
                raise NotRegular("ClinicalData start tag")
            pos, first = start_tag.end(), False
        body = (SUBJECTS_ENTITIES if "&" in text else SUBJECTS).match(text, pos)
        if ended or (body.end() != len(text) and (not last or END.fullmatch(text, body.end()) is None)):
            raise NotRegular(f"unexpected XML near: {text[body.end():body.end() + 60]!r}")
        ended = body.end() != len(text)
        yield from _read_subjects(text, pos, body.end(), prefixes, datetimes)
    if last and not ended:
        raise NotRegular("the file ends before </ODM>")


def _read_subjects(text: str, pos: int, end: int, prefixes: set[str], datetimes: set[str]):
    subject: dict[str, str] | None = None
    event: dict[str, str] | None = None
    forms: list[Form] = []
    careful = "&" in text or 'Value=""' in text
    events: dict[str, dict[str, str]] = {}
    while (tag := TAG.search(text, pos, end)) is not None:
        form_oid, form_key, kind, attrs_text = tag.groups()
        pos = tag.end()
        if kind is None or kind == "FormData":
            stop = pos = text.find("</FormData>", tag.end())  # the next tag is after the form's items
            pairs = ITEMS.findall(text, tag.end(), stop)
            cells = dict(pairs)
            if careful or len(cells) != len(pairs):
                cells = _careful_cells(pairs)
            if datetimes:
                for oid in datetimes & cells.keys():
                    cells[oid] = cells[oid].replace("T", " ", 1)
            form = ({"FormOID": form_oid, "FormRepeatKey": form_key} if kind is None
                    else attributes(attrs_text, prefixes))
            forms.append((event, form, cells))
        elif kind == "StudyEventData":  # the same few events in every record: read each once
            event = events.get(attrs_text)
            if event is None:
                event = events[attrs_text] = attributes(attrs_text, prefixes)
        else:
            if subject is not None:
                yield subject, forms
            subject, event, forms = attributes(attrs_text, prefixes), None, []
    if subject is not None:
        yield subject, forms


def _careful_cells(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """One value at a time: entities decoded, empty values skipped, a repeated item's last value kept."""
    return {oid: unescape(value) for oid, value in pairs if value}
