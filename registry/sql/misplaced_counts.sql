-- How many values each form column holds per (repeat instrument, event): one pass over the
-- export, so that only forms with values where they cannot be are searched cell by cell
-- (registry/redcap/misplaced.py). ${counts}: count("<column>"), … for every form column.
select redcap_repeat_instrument, redcap_event_name, ${counts}
from raw
group by all
