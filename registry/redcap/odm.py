"""REDCap's whole-project CDISC ODM XML export: the project and its records in one file.

REDCap's "CDISC ODM (XML) — project metadata and data" export (and the API's project XML)
holds the data dictionary (``MetaDataVersion``), events and arms (``StudyEventDef``), the
repeating setup and the missing-data codes (``GlobalVariables``) and the records
(``ClinicalData``). :func:`read_odm_project` rebuilds the :class:`Project` from the metadata;
:func:`load_odm` flattens the records into the rows a CSV export of the same project has
and loads them into the table ``raw`` as the JSON loader does.

Where REDCap's ODM differs from its CSV exports, and how that is undone here:

- field types use internal names (``select``, ``textarea``) and so do some validations
  (``int``, ``float``, ``date``…): mapped through ``LEGACY_TYPES``/``LEGACY_VALIDATIONS``;
- a checkbox is one ItemDef per choice (``field___code``, ``redcap:Variable`` = the field),
  its real choices in the CodeList's ``redcap:CheckboxChoices``: rebuilt as one field;
- ``<form>_complete`` is an item although no dictionary has it: it is a column, not a field;
- the repeating setup is in ``redcap:RepeatingInstrumentsAndEvents`` (REDCap writes
  ``Repeating="No"`` on every FormDef); ``Repeating="Yes"`` on a FormDef or StudyEventDef is
  honoured too;
- datetimes are written with a ``T`` (``2024-01-02T10:30``): turned back into a space;
- file fields are base64 (``ItemDataBase64Binary``): the file name (``redcap:DocName``) is kept, as a
  CSV export shows it (``[document]`` when the ODM names no file);
- a comma-decimal REDCap writes ``11,2`` in number and calc fields: read when the whole column does;
- line breaks inside attribute values (labels, notes values) are written raw, which an XML
  parser must turn into spaces: they are escaped as ``&#10;`` before parsing so they survive.

The reader is split by concern: :mod:`~registry.redcap.odm_xml` (parsing, errors),
:mod:`~registry.redcap.odm_metadata` (the project), :mod:`~registry.redcap.odm_records` (the
records, streamed one ``SubjectData`` at a time), :mod:`~registry.redcap.odm_fast` (the records
when they are laid out exactly as REDCap writes them, checked against that grammar and read
without building XML elements: several times faster), :mod:`~registry.redcap.odm_parts` (a large
file's records read that way in parts, one process per core), :mod:`~registry.redcap.odm_rows`
(a record's forms -> its export rows, written as CSV lines) and :mod:`~registry.redcap.odm_values` (cells).
"""

from registry.redcap.odm_metadata import OdmMetadata, apply_options, dictionary_csv, read_odm_project
from registry.redcap.odm_records import load_odm
from registry.redcap.odm_xml import is_odm_file

__all__ = ["OdmMetadata", "apply_options", "dictionary_csv", "is_odm_file", "load_odm", "read_odm_project"]
