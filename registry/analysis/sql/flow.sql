-- Flow of counts per cohort: records -> eligible -> in the analysis population -> with a
-- score on any plan outcome at each follow-up visit. One row per cohort and step.
-- Reads _subjects (subjects.sql) and _scores. Parameters: $followup (VARCHAR[]).
with

subjects as (
    select * from _subjects
),

visit_scores as (
    select distinct record_id, redcap_event_name as visit
    from _scores
    where score is not null and redcap_event_name in (select unnest($followup::varchar[]))
),

steps as (
    select cohort, 'records' as step, 0 as step_order, count(*) as n
    from subjects group by cohort
    union all
    select cohort, 'eligible', 1, count(*) filter (where eligible)
    from subjects group by cohort
    union all
    select cohort, 'included', 2, count(*) filter (where included)
    from subjects group by cohort
    union all
    select s.cohort, 'with_' || v.visit, 3 + list_position($followup::varchar[], v.visit), count(*)
    from subjects as s
    join visit_scores as v using (record_id)
    where s.included
    group by s.cohort, v.visit
),

final as (
    select cohort, step, step_order, n from steps
)

select * from final
order by cohort nulls last, step_order
