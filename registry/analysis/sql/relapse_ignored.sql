-- Clinician-documented relapses of analysed subjects that the rule cannot use, so the report
-- can say so: undated ones, and ones dated on or before day $origin_day.
-- Reads _subjects and _clinician. Parameters: $clinician_value, $origin_day.
with

documented as (
    select c.record_id, c.day
    from _clinician as c
    join _subjects as s using (record_id)
    where s.analysed and c.flag = $clinician_value
),

final as (
    select
        count(*) filter (where day is null) as undated_clinician_relapses,
        count(*) filter (where day <= $origin_day) as clinician_relapses_before_origin
    from documented
)

select * from final
