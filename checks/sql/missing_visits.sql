-- Protocol P7 (warning): a scheduled visit whose window (_events: day_offset + offset_max)
-- closed before the record's last follow-up contact, yet a form that visit should have
-- (_mapping) holds no data. Reported on the form's status field <form>_complete.
with windows as (
    select e.unique_event_name, m.form, e.day_offset + e.offset_max as closes
    from _events as e
    join _mapping as m on m.unique_event_name = e.unique_event_name
    where e.day_offset is not null and e.offset_max is not null
),

due as (
    select d.record_id, w.unique_event_name, w.form
    from {batch} as d
    join windows as w on w.closes < d.disp_last_date
),

present as (
    select record_id, redcap_event_name, 'demographics' as form from demographics
    union all
    select record_id, redcap_event_name, 'eligibility' as form from eligibility
    union all
    select record_id, redcap_event_name, 'madrs' as form from madrs
    union all
    select record_id, redcap_event_name, 'phq9' as form from phq9
    union all
    select record_id, redcap_event_name, 'hamd' as form from hamd
),

final as (
    select due.record_id, due.unique_event_name as redcap_event_name, due.form
    from due
    anti join present as p
        on p.record_id = due.record_id
        and p.redcap_event_name = due.unique_event_name
        and p.form = due.form
)

select record_id, redcap_event_name, cast(null as integer) as redcap_repeat_instance,
       form || '_complete' as field
from final
