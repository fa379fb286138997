-- Protocol P5 (date order) for a scale's visits: baseline <= week 8 <= week 16 (visits ordered
-- by their scheduled day in _events), and no visit after the last follow-up contact
-- (disposition.disp_last_date). Dates are study days. {field} is the scale's date field (the
-- check's meta.field, e.g. madrs_date); findings are reported on the later visit's date.
with visits as (
    select v.record_id, v.redcap_event_name, v.redcap_repeat_instance, v.{field} as day, e.day_offset
    from {batch} as v
    join _events as e on e.unique_event_name = v.redcap_event_name
    where v.{field} is not null and e.day_offset is not null
),

out_of_order as (
    select later.record_id, later.redcap_event_name, later.redcap_repeat_instance
    from visits as later
    join visits as earlier
        on earlier.record_id = later.record_id
        and earlier.day_offset < later.day_offset
    where later.day < earlier.day
),

after_last_contact as (
    select v.record_id, v.redcap_event_name, v.redcap_repeat_instance
    from visits as v
    join disposition as d on d.record_id = v.record_id
    where v.day > d.disp_last_date
),

final as (
    select * from out_of_order
    union
    select * from after_last_contact
)

select record_id, redcap_event_name, redcap_repeat_instance, null as field  -- the check's meta.field
from final
