-- One row per analysed subject x outcome x follow-up visit x kind whose status is known:
-- met = the subject responded (kind 'response') or remitted (kind 'remission') at the visit.
-- Reads _pairs. The definitions of both rates live here only (rates.sql and
-- paired_rates.sql count these rows).
-- Response: complete pair, baseline > 0; met when the reduction is >= $min_reduction_percent
--   of baseline (tested as (baseline - followup) * 100 >= percent * baseline: exact for
--   integer totals).
-- Remission: a follow-up total; met when it compares with the outcome's threshold as the
--   plan says. Parameters: $scales, $comparisons (VARCHAR[]), $thresholds (DOUBLE[]),
--   $min_reduction_percent (DOUBLE).
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
        cohort, scale, visit, 'response' as kind, record_id,
        (baseline - followup) * 100 >= $min_reduction_percent * baseline as met
    from pairs
    where left_out is null and baseline > 0
),

remission as (
    select
        cohort, scale, visit, 'remission' as kind, record_id,
        case comparison
            when '<' then followup < threshold
            when '<=' then followup <= threshold
            when '>' then followup > threshold
            when '>=' then followup >= threshold
        end as met
    from pairs
    where followup is not null
),

final as (
    select * from response
    union all
    select * from remission
)

select * from final
