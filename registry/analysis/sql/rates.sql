-- Response and remission counts per cohort x outcome x follow-up visit. Reads _pairs.
-- Response: complete pair, baseline > 0, reduction >= $min_reduction_percent of baseline
--   (tested as (baseline - followup) * 100 >= percent * baseline: exact for integer totals).
-- Remission: follow-up total compared with the outcome's threshold, among subjects with a
--   follow-up total. Parameters: $scales, $comparisons (VARCHAR[]), $thresholds (DOUBLE[]),
--   $followup (VARCHAR[]), $min_reduction_percent (DOUBLE).
with

rules as (
    select
        unnest($scales::varchar[]) as scale,
        unnest($comparisons::varchar[]) as comparison,
        unnest($thresholds::double[]) as threshold
),

pairs as (
    select p.*, r.comparison, r.threshold
    from _pairs as p
    join rules as r using (scale)
),

response as (
    select
        cohort, scale, visit, 'response' as kind,
        count(*) filter (where (baseline - followup) * 100 >= $min_reduction_percent * baseline) as count,
        count(*) as n
    from pairs
    where left_out is null and baseline > 0
    group by cohort, scale, visit
),

remission as (
    select
        cohort, scale, visit, 'remission' as kind,
        count(*) filter (where case comparison
            when '<' then followup < threshold
            when '<=' then followup <= threshold
            when '>' then followup > threshold
            when '>=' then followup >= threshold
        end) as count,
        count(*) as n
    from pairs
    where followup is not null
    group by cohort, scale, visit
),

final as (
    select * from response
    union all
    select * from remission
)

select * from final
order by cohort, list_position($scales::varchar[], scale), list_position($followup::varchar[], visit),
    kind desc
