-- Protocol P4: the comparator cohort (dem_cohort = 2, esketamine alone) gets no sirolimus.
-- Reported on every sirolimus dose of such a record.
select s.record_id, s.redcap_event_name, s.redcap_repeat_instance, 'sir_date' as field
from {batch} as s
join demographics as d on d.record_id = s.record_id
where d.dem_cohort = 2
