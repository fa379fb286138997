-- One row per included subject x outcome x follow-up visit: baseline and follow-up totals,
-- the change (follow-up minus baseline) and, when the pair is incomplete, why.
-- Reads _subjects and _scores. Parameters: $baseline (VARCHAR), $followup (VARCHAR[]),
-- $scales (VARCHAR[]).
with

population as (
    select record_id, cohort from _subjects where analysed
),

scales as (
    select unnest($scales::varchar[]) as scale
),

visits as (
    select unnest($followup::varchar[]) as visit
),

scores as (
    -- one total per record, event and scale (the last repeat instance if a form repeats)
    select record_id, redcap_event_name, scale,
        arg_max(score, coalesce(redcap_repeat_instance, 0)) as score
    from _scores
    where score is not null
    group by record_id, redcap_event_name, scale
),

baseline as (
    select record_id, scale, score from scores where redcap_event_name = $baseline
),

followup as (
    select record_id, scale, redcap_event_name as visit, score from scores
),

final as (
    select
        p.cohort,
        s.scale,
        v.visit,
        p.record_id,
        b.score as baseline,
        f.score as followup,
        f.score - b.score as change,
        case
            when b.score is null and f.score is null then 'missing_both'
            when b.score is null then 'missing_baseline'
            when f.score is null then 'missing_followup'
        end as left_out
    from population as p
    cross join scales as s
    cross join visits as v
    left join baseline as b on b.record_id = p.record_id and b.scale = s.scale
    left join followup as f on f.record_id = p.record_id and f.scale = s.scale and f.visit = v.visit
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit), record_id
