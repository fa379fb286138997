-- Who is at risk of relapse, and from when. Reads _subjects and _onset (onset.sql).
-- $at_risk: 'responders' (an onset of response), 'remitters' (an onset of remission) or
-- 'all' (every analysed subject). Events count strictly after `start` (the onset day, or
-- $origin_day for 'all'); time counts from `origin` (the onset day for $origin = 'onset',
-- else $origin_day). not_at_risk_reason: 'no baseline' or 'no onset' (else null).
with

subjects as (
    select
        o.record_id,
        o.cohort,
        o.baseline,
        case $at_risk
            when 'responders' then o.response_day
            when 'remitters' then o.remission_day
        end as onset_day
    from _onset as o
),

final as (
    select
        record_id,
        cohort,
        case when $at_risk = 'all' then null else onset_day end as onset_day,
        $at_risk = 'all' or onset_day is not null as at_risk,
        case
            when $at_risk = 'all' or onset_day is not null then null
            when baseline is null then 'no baseline'
            else 'no onset'
        end as not_at_risk_reason,
        case when $at_risk = 'all' then $origin_day else onset_day end as start,
        case when $origin = 'onset' and $at_risk <> 'all' then onset_day else $origin_day end as origin
    from subjects
)

select * from final
order by cohort, record_id
