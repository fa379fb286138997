-- REDCap DQ rule F: a field hidden by its branching logic that holds a value.
-- Slots: field (its name), joins and shown (the translated logic), column (the value; for a
-- checkbox, whether some box is ticked).
select t.record_id, t.redcap_event_name, t.redcap_repeat_instance, ${field} as field
from {batch} as t
${joins}
where not (${shown})
  and ${column} is not null
