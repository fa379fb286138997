-- ADTTE rows: one per subject of the relapse analysis, from _relapse_times
-- (registry/analysis/sql/relapse_times.sql): the same days and events as results.json.
-- CNSR is 0 for an event; a censoring's reason is 1 (censored at the last scale
-- assessment), 2 (at the last contact, later than the last assessment) or 3 (no follow-up
-- after day 0: censored at day 0). Parameter: $origin_day (INTEGER).
with

times as (
    select * from _relapse_times
),

final as (
    select
        record_id,
        cohort,
        days as aval,
        case
            when event then 0
            when last_assessment_day > $origin_day
                and last_assessment_day >= coalesce(last_contact_day, last_assessment_day) then 1
            when last_contact_day > $origin_day then 2
            else 3
        end as cnsr,
        criterion,
        $origin_day as startdt,
        $origin_day + days as ady
    from times
)

select * from final
order by record_id
