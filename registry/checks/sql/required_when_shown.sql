-- REDCap DQ rule B: a required field left blank where its branching logic shows it.
-- ${column}: the field (or, for a checkbox, "no box ticked"); ${shown}: the translated logic.
select t.record_id, t.redcap_event_name, t.redcap_repeat_instance, ${field} as field
from {batch} as t
${joins}
where (${shown})
  and ${blank}
