-- Protocol P5 (date order): no sirolimus dose after the last follow-up contact
-- (disposition.disp_last_date). Dates are study days.
select s.record_id, s.redcap_event_name, s.redcap_repeat_instance, 'sir_date' as field
from {batch} as s
join disposition as d on d.record_id = s.record_id
where s.sir_date > d.disp_last_date
