-- Response and remission counts per cohort x outcome x follow-up visit x kind.
-- Reads _rate_status (rate_status.sql: who is counted and who met the definition).
-- Parameters: $scales (VARCHAR[]), $followup (VARCHAR[]), for the order only.
with

status as (
    select * from _rate_status
),

final as (
    select
        cohort, scale, visit, kind,
        count(*) filter (where met) as count,
        count(*) as n
    from status
    group by cohort, scale, visit, kind
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit),
    kind desc
