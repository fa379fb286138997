-- Protocol P4: in the sirolimus-augmented cohort (dem_cohort = 1) the first sirolimus dose is
-- on day 0 (the index treatment). Reported on the first dose's date.
with doses as (
    select
        s.record_id, s.redcap_event_name, s.redcap_repeat_instance, s.sir_date,
        row_number() over (partition by s.record_id order by s.sir_date, s.redcap_repeat_instance) as dose
    from {batch} as s
    join demographics as d on d.record_id = s.record_id
    where s.sir_date is not null and d.dem_cohort = 1
)

select record_id, redcap_event_name, redcap_repeat_instance, 'sir_date' as field
from doses
where dose = 1 and sir_date <> 0
