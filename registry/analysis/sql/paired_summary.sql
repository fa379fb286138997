-- Summary statistics of paired change per cohort x outcome x follow-up visit, over
-- complete pairs, with the number of pairs left out and why. Reads _pairs (pairs.sql).
-- Parameters: $scales (VARCHAR[]), $followup (VARCHAR[]).
with

pairs as (
    select * from _pairs
),

final as (
    select
        cohort,
        scale,
        visit,
        count(*) as n_population,
        count(*) filter (where left_out is null) as n,
        count(*) filter (where left_out = 'missing_baseline') as n_missing_baseline,
        count(*) filter (where left_out = 'missing_followup') as n_missing_followup,
        count(*) filter (where left_out = 'missing_both') as n_missing_both,
        count(*) filter (where left_out = 'out_of_window') as n_out_of_window,
        avg(baseline) filter (where left_out is null) as mean_baseline,
        stddev_samp(baseline) filter (where left_out is null) as sd_baseline,
        avg(followup) filter (where left_out is null) as mean_followup,
        stddev_samp(followup) filter (where left_out is null) as sd_followup,
        avg(change) filter (where left_out is null) as mean_change,
        stddev_samp(change) filter (where left_out is null) as sd_change
    from pairs
    group by cohort, scale, visit
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit)
