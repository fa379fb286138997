-- REDCap DQ rule H: a calculated field whose stored value is not its formula's value,
-- recomputed where every field the formula reads has a value.
select t.record_id, t.redcap_event_name, t.redcap_repeat_instance, ${field} as field
from {batch} as t
where ${all_present}
  and (t.${column} is null or abs(t.${column} - (${formula})) > 1e-6)
