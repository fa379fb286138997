-- REDCap DQ rule F: a field hidden by its branching logic that holds a value.
-- ${column}: the field (for a checkbox, "some box ticked"); ${shown}: the translated logic.
select t.record_id, t.redcap_event_name, t.redcap_repeat_instance, ${field} as field
from {batch} as t
${joins}
where not (${shown})
  and ${column} is not null
