-- What a form's columns of the export hold, per (repeat instrument, event): one pass over those
-- columns (registry/redcap/tidy.py runs it per form), so that only forms with values where they
-- cannot be (registry/redcap/misplaced.py) and columns that may hold failed casts or missing-data
-- codes (registry/redcap/side_rows.py) are searched cell by cell. The slot below holds one aggregate per counted column (side_rows.MEASURES).
select r.redcap_repeat_instrument, r.redcap_event_name, ${counts}
from raw as r
group by all
