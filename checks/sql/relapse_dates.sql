-- Protocol P5 (date order): a documented relapse lies within follow-up, from day 0 to the
-- last follow-up contact (disp_last_date). Dates are study days.
select record_id, redcap_event_name, redcap_repeat_instance, 'relapse_date' as field
from {batch}
where relapse_date < 0 or relapse_date > disp_last_date
