-- REDCap DQ rule C: a value that does not fit its field's validation type. The ingest kept
-- it, as exported, in _cast_failures (never shown here) and stored NULL in the form table.
select c.record_id, c.redcap_event_name, c.redcap_repeat_instance, c.field
from {batch} as c
