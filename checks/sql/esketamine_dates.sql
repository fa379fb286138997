-- Protocol P5 (date order): every esketamine session is on or after the first ever
-- esketamine treatment (dem_esk_start_date; maintenance sessions may precede day 0) and on or
-- before the last follow-up contact (disposition.disp_last_date). Dates are study days.
with sessions as (
    select e.record_id, e.redcap_event_name, e.redcap_repeat_instance, e.esk_date,
           d.dem_esk_start_date, p.disp_last_date
    from {batch} as e
    left join demographics as d on d.record_id = e.record_id
    left join disposition as p on p.record_id = e.record_id
    where e.esk_date is not null
)

select record_id, redcap_event_name, redcap_repeat_instance, 'esk_date' as field
from sessions
where esk_date < dem_esk_start_date or esk_date > disp_last_date
