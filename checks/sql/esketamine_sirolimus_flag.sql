-- Protocol P4: no esketamine session of the comparator cohort (dem_cohort = 2) is flagged
-- as sirolimus-pretreated.
select e.record_id, e.redcap_event_name, e.redcap_repeat_instance, 'esk_sirolimus' as field
from {batch} as e
join demographics as d on d.record_id = e.record_id
where d.dem_cohort = 2 and e.esk_sirolimus = 1
