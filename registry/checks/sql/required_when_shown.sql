-- REDCap DQ rule B: a required field left blank where its branching logic shows it.
-- Slots: field (its name), joins and shown (the translated logic), blank (the field is blank;
-- for a checkbox, no box is ticked).
select t.record_id, t.redcap_event_name, t.redcap_repeat_instance, ${field} as field
from {batch} as t
${joins}
where (${shown})
  and ${blank}
