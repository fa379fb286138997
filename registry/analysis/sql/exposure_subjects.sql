-- One row per analysed subject: esketamine sessions and sirolimus doses, and which doses
-- and subjects followed the protocol. Reads _subjects, _sessions (record_id, day, dose) and
-- _doses (record_id, day, dose, hours_before, taken), staged by registry/analysis/exposure.py.
-- Parameters: $taken_value, $dose, $hours_before, $doses, $interval_days, $tolerance_days,
-- $first_day.
with

population as (
    select record_id, cohort from _subjects where analysed
),

sessions as (
    select record_id, count(*) as sessions
    from _sessions
    where day is not null or dose is not null
    group by record_id
),

session_days as (
    select distinct record_id, day from _sessions where day is not null
),

taken as (
    -- doses taken, each with whether it met the protocol's dose and timing (an esketamine
    -- session the same day, taken the protocol's hours before it), and the gap to the
    -- previous dose taken
    select
        d.record_id,
        d.day,
        d.dose = $dose as at_dose,
        d.hours_before = $hours_before and s.day is not null as on_time,
        d.day - lag(d.day) over (partition by d.record_id order by d.day) as gap
    from _doses as d
    left join session_days as s on s.record_id = d.record_id and s.day = d.day
    where d.taken = $taken_value
),

per_subject as (
    select
        record_id,
        count(*) as doses_taken,
        count(*) filter (where at_dose) as doses_at_dose,
        count(*) filter (where on_time) as doses_on_time,
        count(*) = $doses
            and count(day) = count(*)
            and coalesce(bool_and(abs(gap - $interval_days) <= $tolerance_days) filter (where gap is not null), true) as interval_ok,
        min(day) = $first_day as first_ok
    from taken
    group by record_id
),

final as (
    select
        p.cohort,
        p.record_id,
        coalesce(s.sessions, 0) as sessions,
        coalesce(t.doses_taken, 0) as doses_taken,
        coalesce(t.doses_at_dose, 0) as doses_at_dose,
        coalesce(t.doses_on_time, 0) as doses_on_time,
        coalesce(t.interval_ok, false) as interval_ok,
        coalesce(t.first_ok, false) as first_ok
    from population as p
    left join sessions as s using (record_id)
    left join per_subject as t using (record_id)
)

select * from final
order by cohort, record_id
