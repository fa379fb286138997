-- Protocol P4 (warning): each sirolimus dose is given before an esketamine session on the
-- same day that is flagged esk_sirolimus = 1. Reported on the dose's date.
select s.record_id, s.redcap_event_name, s.redcap_repeat_instance, 'sir_date' as field
from {batch} as s
anti join esketamine_session as e
    on e.record_id = s.record_id
    and e.esk_date = s.sir_date
    and e.esk_sirolimus = 1
where s.sir_date is not null
