"""Reading REDCap's ODM XML: namespace-agnostic element helpers, and a parser that keeps line breaks.

REDCap writes line breaks and tabs raw inside attribute values (multi-line labels, notes
values); an XML parser must turn them into spaces, so :class:`_KeepBreaks` escapes them as
``&#10;`` before parsing. :func:`iterparse` (the standard library's parser, for the metadata)
and :func:`iter_subjects` (lxml's, for the records: about twice as fast) turn parse errors into
:class:`InputFileError` naming the line and column in the file as it is on disk.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from lxml import etree

from registry.errors import InputFileError

ODM_FIX = ("export the project again from REDCap (Other Export Options > 'CDISC ODM (XML) — project "
           "metadata and data'); do not edit the file by hand")


# --- small XML helpers (namespace-agnostic: ODM 1.3.x, the redcap: extension, or none) ------

def local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def attrs(el: ET.Element) -> dict[str, str]:
    """Attributes by local name: ODM's own (``OID``) and REDCap's (``redcap:Variable``) alike."""
    return {k.rsplit("}", 1)[-1]: v for k, v in el.attrib.items()}


def children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if local_name(c.tag) == name]


def child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    return next((c for c in el if local_name(c.tag) == name), None)


def translated(el: ET.Element | None) -> str:
    """The text of a Question or Decode: REDCap's formatted (HTML) label if any, else the plain one."""
    if el is None:
        return ""
    formatted = child(el, "FormattedTranslatedText")
    if formatted is not None and (formatted.text or "").strip():
        return formatted.text or ""
    plain = child(el, "TranslatedText")
    return (plain.text or "") if plain is not None else ""


def strip_prefix(value: str, prefix: str) -> str:
    return value[len(prefix):] if value.startswith(prefix) else value


def number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def is_odm_file(path: str | Path, head: bytes | None = None) -> bool:
    """An ODM XML export: the name ends in ``.xml``, or the file starts as XML does."""
    path = Path(path)
    if path.suffix.lower() == ".xml":
        return True
    if head is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(512)
        except OSError:
            return False
    start = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    return start.startswith(b"<?xml") or start.startswith(b"<ODM")



# --- reading the file: raw line breaks in attribute values kept, errors made readable --------

_TAG = re.compile(rb"<(?:[^<>\"']|\"[^\"<]*\"|'[^'<]*')*>")
_QUOTED = re.compile(rb"\"[^\"]*\"|'[^']*'")
# An attribute value that holds a line break or tab: '="' then a break before the closing quote.
# One pattern per quote character, so that the search starts from a literal (fast).
_HINTS = (re.compile(rb"=\"[^\"\n\r\t]*[\n\r\t]"), re.compile(rb"='[^'\n\r\t]*[\n\r\t]"))


def _escape_breaks(match: re.Match) -> bytes:
    tag = match.group()
    if b"\n" not in tag and b"\r" not in tag and b"\t" not in tag:
        return tag
    return _QUOTED.sub(
        lambda q: q.group().replace(b"\r\n", b"&#10;").replace(b"\r", b"&#10;")
        .replace(b"\n", b"&#10;").replace(b"\t", b"&#9;"),
        tag,
    )


class _KeepBreaks:
    """A binary reader that escapes raw line breaks and tabs inside attribute values.

    XML parsers turn them into spaces (attribute-value normalisation), but REDCap writes
    multi-line labels and notes values unescaped. ``<`` cannot occur in an attribute value,
    so a chunk is processed up to its last ``<`` and the rest is carried to the next read.
    """

    def __init__(self, fh, chunk: int = 1 << 20):
        self.fh = fh
        self.chunk = chunk
        self.carry = b""
        self.eof = False
        self.out = b""
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes, as a file's read: a parser asking for 32 KB is slowed by more."""
        if self.pos >= len(self.out):
            self.out, self.pos = self._next_chunk(), 0
        end = len(self.out) if size is None or size < 0 else self.pos + size
        piece = self.out[self.pos:end]
        self.pos += len(piece)
        return piece

    def _next_chunk(self) -> bytes:
        while not self.eof:
            data = self.fh.read(self.chunk)
            if not data:
                self.eof = True
                out, self.carry = self.carry, b""
                return self._escape(out)
            buf = self.carry + data
            cut = buf.rfind(b"<")
            if cut <= 0:
                self.carry = buf
                continue
            out, self.carry = buf[:cut], buf[cut:]
            return self._escape(out)
        return b""

    @staticmethod
    def _escape(chunk: bytes) -> bytes:
        for quote, hint in zip((b'="', b"='"), _HINTS, strict=True):
            if quote in chunk:  # REDCap quotes attributes with '"': the second scan is mostly skipped
                chunk = _KeepBreaks._escape_hinted(chunk, hint)
        return chunk

    @staticmethod
    def _escape_hinted(chunk: bytes, pattern: re.Pattern) -> bytes:
        """Fix only the tags around a hint; the nearest '<' before a hint inside a tag is its start."""
        out, last, pos = [], 0, 0
        while (hint := pattern.search(chunk, pos)) is not None:
            pos = hint.end()
            start = chunk.rfind(b"<", last, hint.start())
            tag = _TAG.match(chunk, start) if start >= 0 else None
            if tag is None or tag.end() <= hint.start():
                continue  # the quote is in text content, not in a tag
            out += [chunk[last:start], _escape_breaks(tag)]
            last = pos = tag.end()
        if not out:
            return chunk
        out.append(chunk[last:])
        return b"".join(out)


def _ascii_compatible(head: bytes, encoding: str | None) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) > 1 and head[1:2] == b"\x00"):
        return False
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputFileError(f"unknown encoding '{encoding}'", where="--encoding",
                                 fix="use a Python codec name, e.g. --encoding cp1252, or leave it out "
                                     "and let the XML declaration say") from None
        return not name.startswith(("utf-16", "utf-32"))
    return True


_PARSE_MESSAGES = {
    "no element found": "the XML ends early: the file is truncated",
    "unclosed token": "the XML ends early: the file is truncated",
    "mismatched tag": "a closing tag does not match its opening tag",
    "not well-formed (invalid token)": "the XML is not well-formed (a stray '<' or '&', or a broken tag)",
    "junk after document element": "there is text after the end of the ODM document",
    "syntax error": "the file is not XML",
}


def _parse_error(exc: ET.ParseError, path: Path, encoding: str | None) -> InputFileError:
    """Say what is wrong and where; the position comes from the file as it is on disk."""
    line, column = exc.position
    try:  # positions in the escaped stream can be off by the line breaks escaped: parse the raw file
        parser = ET.XMLParser(encoding=encoding) if encoding else None
        with path.open("rb") as fh:
            for _ in ET.iterparse(fh, events=("end",), parser=parser):
                pass
    except ET.ParseError as raw_exc:
        line, column = raw_exc.position
    except (OSError, LookupError):
        pass
    text = str(exc).split(":", 1)[0]
    what = _PARSE_MESSAGES.get(text, f"the XML cannot be parsed ({text})")
    if "encoding" in str(exc) or "undefined entity" in str(exc):
        what = f"the XML cannot be parsed ({exc})"
    return InputFileError(f"the ODM export is malformed: {what}",
                          where=f"{path}, line {line}, column {column + 1}", fix=ODM_FIX)


def _open(path: Path):
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputFileError(f"cannot read the ODM export: {exc.strerror}", where=str(path),
                             fix="check the path of the export") from None


def iterparse(path: Path, events: tuple[str, ...], encoding: str | None = None):
    """``ET.iterparse`` over the file, its errors turned into :class:`InputFileError`."""
    with _open(path) as fh:
        head = fh.read(4)
        fh.seek(0)
        source = _KeepBreaks(fh) if _ascii_compatible(head, encoding) else fh
        parser = ET.XMLParser(encoding=encoding) if encoding else None
        try:
            parsing = ET.iterparse(source, events=events, parser=parser)
            event, el = next(parsing)
            root = local_name(el.tag)
            if root != "ODM":
                raise InputFileError(f"the XML file is not a CDISC ODM export (its root element is <{root}>)",
                                     where=f"{path}, line 1", fix=ODM_FIX)
            yield event, el
            yield from parsing
        except ET.ParseError as exc:
            raise _parse_error(exc, path, encoding) from None


def iter_subjects(path: Path, encoding: str | None = None):
    """The ``Study`` and then each ``SubjectData`` element of the file, as each ends.

    lxml's parser, told to stop only at those two elements; a yielded ``SubjectData`` is emptied
    and dropped once the caller is done with it, so the file is never held in memory whole.
    External entities are never loaded.
    """
    for _event, _root in iterparse(path, ("start",), encoding):  # the root is <ODM>, or refused
        break
    with _open(path) as fh:
        head = fh.read(4)
        fh.seek(0)
        source = _KeepBreaks(fh) if _ascii_compatible(head, encoding) else fh
        parsing = etree.iterparse(source, events=("end",), tag=("{*}Study", "{*}SubjectData", "Study", "SubjectData"),
                                  encoding=encoding, huge_tree=True, remove_comments=True, remove_pis=True,
                                  resolve_entities=False, no_network=True, load_dtd=False)
        try:
            for _event, el in parsing:
                yield el
                el.clear()
                while el.getprevious() is not None:
                    del el.getparent()[0]
        except etree.XMLSyntaxError as exc:
            for _ in iterparse(path, ("start",), encoding):  # the standard parser says what and where
                pass
            line, column = exc.position
            raise InputFileError(f"the ODM export is malformed: the XML cannot be parsed ({exc.msg})",
                                 where=f"{path}, line {line}, column {column}", fix=ODM_FIX) from None
