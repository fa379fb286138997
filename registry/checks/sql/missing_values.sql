-- REDCap DQ rule I: a cell holding a missing-data code (UNK, NASK, ...). Reported, not an
-- error: the code says why the value is missing.
select m.record_id, m.redcap_event_name, m.redcap_repeat_instance, m.field
from {batch} as m
