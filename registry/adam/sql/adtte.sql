-- ADTTE relapse rows: one per subject at risk of relapse, from _relapse_times
-- (registry/analysis/sql/relapse_times.sql): the same days and events as results.json.
-- STARTDT is the subject's origin (the onset day for relapse among responders, else day 0)
-- and ADY the study day of the event or censoring (STARTDT + AVAL).
-- CNSR is 0 for an event; a censoring's reason is 1 (censored at the last scale
-- assessment), 2 (at the last contact, later than the last assessment) or 3 (no follow-up
-- after the start of the risk period: censored at its start).
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
            when last_assessment_day > start
                and last_assessment_day >= coalesce(last_contact_day, last_assessment_day) then 1
            when last_contact_day > start then 2
            else 3
        end as cnsr,
        criterion,
        origin as startdt,
        origin + days as ady
    from times
)

select * from final
order by record_id
