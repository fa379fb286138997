-- Onset of response and of remission per analysed subject (the relapse scale, e.g. MADRS).
-- Reads _subjects, _scores (baseline total) and _relapse_ratings (the assessments: session
-- and visit ratings together, as the relapse rule reads them).
-- An assessment is a day with a rating; ratings from several sources on one day count as one
-- assessment, rated by the first-listed source (lowest source_rank), as in relapse_times.sql.
-- Only assessments after $origin_day count.
-- Response onset: the first assessment whose total is at least $min_reduction_percent below
--   the baseline total ((baseline - score) * 100 >= percent * baseline, baseline > 0).
-- Remission onset: the first assessment meeting the scale's remission comparison
--   ($rem_comparison $rem_threshold).
-- Parameters: $baseline (visit), $scale, $origin_day, $min_reduction_percent,
--   $rem_comparison, $rem_threshold.
with

population as (
    select record_id, cohort from _subjects where analysed
),

baseline as (
    select record_id, arg_max(score, coalesce(redcap_repeat_instance, 0)) as baseline
    from _scores
    where redcap_event_name = $baseline and scale = $scale and score is not null
    group by record_id
),

ratings as (
    select record_id, day, arg_min(score, source_rank) as score
    from _relapse_ratings
    where day is not null and score is not null and day > $origin_day
    group by record_id, day
),

marked as (
    select
        r.record_id,
        r.day,
        b.baseline > 0 and (b.baseline - r.score) * 100 >= $min_reduction_percent * b.baseline as responded,
        case $rem_comparison
            when '<' then r.score < $rem_threshold
            when '<=' then r.score <= $rem_threshold
            when '>' then r.score > $rem_threshold
            when '>=' then r.score >= $rem_threshold
        end as remitted
    from ratings as r
    left join baseline as b using (record_id)
),

onsets as (
    select
        record_id,
        min(day) filter (where responded) as response_day,
        min(day) filter (where remitted) as remission_day,
        max(day) as last_assessment_day,
        count(*) as assessments
    from marked
    group by record_id
),

final as (
    select
        p.record_id,
        p.cohort,
        b.baseline,
        case when b.baseline is not null then o.response_day end as response_day,
        case when b.baseline is not null then o.remission_day end as remission_day,
        o.last_assessment_day,
        coalesce(o.assessments, 0) as assessments
    from population as p
    left join baseline as b using (record_id)
    left join onsets as o using (record_id)
)

select * from final
order by cohort, record_id
