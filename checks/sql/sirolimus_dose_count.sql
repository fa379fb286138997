-- Protocol P4: a record of the sirolimus-augmented cohort (dem_cohort = 1) has exactly two
-- sirolimus doses. Reported on dem_cohort, since the doses themselves may be missing.
with doses as (
    select record_id, count(*) as n
    from sirolimus_dose
    group by record_id
)

select d.record_id, d.redcap_event_name, d.redcap_repeat_instance, 'dem_cohort' as field
from {batch} as d
left join doses on doses.record_id = d.record_id
where d.dem_cohort = 1 and coalesce(doses.n, 0) <> 2
