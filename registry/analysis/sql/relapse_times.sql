-- Time to relapse per at-risk subject, by the plan's rule.
-- Reads _relapse_population (record_id, cohort, start: events count strictly after this day,
-- origin: time zero; relapse_population.sql), _relapse_ratings, _clinician, _last_contact.
--
-- Score rule: an assessment is a day with a rating; ratings from several sources on one day
-- count as one assessment, rated by the first-listed source (lowest source_rank). Only
-- assessments after the subject's start day count. A relapse is $consecutive consecutive assessments
-- all $comparison $threshold with every gap between neighbours within
-- [$min_gap_days, $max_gap_days] days; it is dated on the first ($dated_on = 'first') or
-- last of them. Clinician rule: $clinician_value in the clinician field, dated after the
-- start day. The event is the earlier of the two; otherwise the subject is censored at the
-- later of the last assessment and the last contact (never before the start day).
-- Time is day - origin. (at_risk = all, origin = day0: start = origin = the plan's origin_day.)
with

population as (
    select record_id, cohort, start, origin from _relapse_population where at_risk
),

ratings as (
    select record_id, day, arg_min(score, source_rank) as score
    from _relapse_ratings
    where day is not null and score is not null
    group by record_id, day
),

after_origin as (
    select
        r.record_id,
        r.day,
        row_number() over (partition by r.record_id order by r.day) as rn,
        r.day - lag(r.day) over (partition by r.record_id order by r.day) as gap,
        case $comparison
            when '>=' then r.score >= $threshold
            when '>' then r.score > $threshold
        end as high
    from ratings as r
    join population as p using (record_id)
    where r.day > p.start
),

runs as (
    -- every run of $consecutive assessments that starts at s and qualifies
    select s.record_id, s.day as first_day, max(w.day) as last_day
    from after_origin as s
    join after_origin as w
        on w.record_id = s.record_id and w.rn between s.rn and s.rn + $consecutive - 1
    group by s.record_id, s.rn, s.day
    having count(*) = $consecutive
        and bool_and(w.high)
        and bool_and(w.rn = s.rn or w.gap between $min_gap_days and $max_gap_days)
),

score_events as (
    select record_id, min(case $dated_on when 'first' then first_day else last_day end) as day
    from runs
    group by record_id
),

clinician_events as (
    select c.record_id, min(c.day) as day
    from _clinician as c
    join population as p using (record_id)
    where c.flag = $clinician_value and c.day > p.start
    group by c.record_id
),

last_assessment as (
    select record_id, max(day) as day from ratings group by record_id
),

last_contact as (
    select record_id, max(day) as day from _last_contact where day is not null group by record_id
),

combined as (
    select
        p.record_id,
        p.cohort,
        p.start,
        p.origin,
        se.day as score_event_day,
        ce.day as clinician_event_day,
        la.day as last_assessment_day,
        lc.day as last_contact_day,
        least(se.day, ce.day) as event_day
    from population as p
    left join score_events as se using (record_id)
    left join clinician_events as ce using (record_id)
    left join last_assessment as la using (record_id)
    left join last_contact as lc using (record_id)
),

final as (
    select
        record_id,
        cohort,
        start,
        origin,
        coalesce(event_day, greatest(last_assessment_day, last_contact_day, start)) - origin as days,
        event_day is not null as event,
        case
            when event_day is null then 'censored'
            when clinician_event_day is null or score_event_day < clinician_event_day then 'score'
            when score_event_day is null or clinician_event_day < score_event_day then 'clinician'
            else 'score+clinician'
        end as criterion,
        score_event_day,
        clinician_event_day,
        last_assessment_day,
        last_contact_day
    from combined
)

select * from final
order by cohort, record_id
