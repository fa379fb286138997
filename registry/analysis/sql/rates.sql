-- Response and remission counts per cohort x outcome x follow-up visit x kind, and the
-- subjects left out because a total was outside its visit window.
-- Reads _rate_status (rate_status.sql: who is counted and who met the definition) and
-- _rate_out_of_window (rate_out_of_window.sql).
-- Parameters: $scales (VARCHAR[]), $followup (VARCHAR[]), for the order only.
with

counted as (
    select
        cohort, scale, visit, kind,
        count(*) filter (where met) as count,
        count(*) as n
    from _rate_status
    group by cohort, scale, visit, kind
),

out_of_window as (
    select cohort, scale, visit, kind, count(*) as n_out_of_window
    from _rate_out_of_window
    group by cohort, scale, visit, kind
),

final as (
    select
        cohort, scale, visit, kind,
        coalesce(c.count, 0) as count,
        coalesce(c.n, 0) as n,
        coalesce(o.n_out_of_window, 0) as n_out_of_window
    from counted as c
    full outer join out_of_window as o using (cohort, scale, visit, kind)
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit),
    kind desc
