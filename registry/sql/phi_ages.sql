-- Ages over 89 that are not top-coded to 90 (HIPAA Safe Harbor: "90 or older").
-- ${table} and ${column} are identifiers from the data dictionary, quoted by registry/phi.py.
select __row, record_id, redcap_event_name, redcap_repeat_instance,
       $field as field, 'age_over_89' as kind
from ${table}
where try_cast(trim(${column}) as double) > 90
order by __row
