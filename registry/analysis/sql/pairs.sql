-- One row per included subject x outcome x follow-up visit: baseline and follow-up totals,
-- the change (follow-up minus baseline) and, when the pair is incomplete, why.
-- A total counts for a visit only inside the visit's window (plan [visits.windows]); a
-- total outside it (or without a day) is not used, and a pair that lacks a value because
-- of it is left out as 'out_of_window'. baseline_out_of_window / followup_out_of_window
-- say which total was outside its window.
-- Reads _subjects and _scores. Parameters: $baseline (VARCHAR), $followup (VARCHAR[]),
-- $scales (VARCHAR[]), $window_visits (VARCHAR[]), $window_first, $window_last (INTEGER[]).
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

windows as (
    select
        unnest($window_visits::varchar[]) as visit,
        unnest($window_first::integer[]) as first_day,
        unnest($window_last::integer[]) as last_day
),

latest as (
    -- one total per record, event and scale (the last repeat instance if a form repeats)
    select record_id, redcap_event_name, scale,
        arg_max({'score': score, 'day': day}, coalesce(redcap_repeat_instance, 0)) as total
    from _scores
    where score is not null
    group by record_id, redcap_event_name, scale
),

scores as (
    select
        s.record_id,
        s.redcap_event_name,
        s.scale,
        s.total.score as score,
        w.visit is null or coalesce(s.total.day between w.first_day and w.last_day, false) as in_window
    from latest as s
    left join windows as w on w.visit = s.redcap_event_name
),

baseline as (
    select record_id, scale, score, in_window from scores where redcap_event_name = $baseline
),

followup as (
    select record_id, scale, redcap_event_name as visit, score, in_window from scores
),

joined as (
    select
        p.cohort,
        s.scale,
        v.visit,
        p.record_id,
        case when b.in_window then b.score end as baseline,
        case when f.in_window then f.score end as followup,
        coalesce(not b.in_window, false) as baseline_out_of_window,
        coalesce(not f.in_window, false) as followup_out_of_window
    from population as p
    cross join scales as s
    cross join visits as v
    left join baseline as b on b.record_id = p.record_id and b.scale = s.scale
    left join followup as f on f.record_id = p.record_id and f.scale = s.scale and f.visit = v.visit
),

final as (
    select
        cohort,
        scale,
        visit,
        record_id,
        baseline,
        followup,
        followup - baseline as change,
        case
            when baseline is not null and followup is not null then null
            when baseline_out_of_window or followup_out_of_window then 'out_of_window'
            when baseline is null and followup is null then 'missing_both'
            when baseline is null then 'missing_baseline'
            else 'missing_followup'
        end as left_out,
        baseline_out_of_window,
        followup_out_of_window
    from joined
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit), record_id
