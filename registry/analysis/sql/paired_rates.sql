-- McNemar pairs: per cohort and prespecified comparison (scale, kind, visit A, visit B),
-- the subjects whose status is known at both visits, and the 2x2 table of their status:
-- n, count_a (met at A), count_b (met at B), b (met at A only), c (met at B only); and
-- n_out_of_window: subjects left out because a total at A or B was outside its visit window.
-- Reads _rate_status and _rate_out_of_window. Parameters, one list entry per comparison: $scales, $kinds,
-- $visits_a, $visits_b (VARCHAR[]).
with

comparisons as (
    select
        unnest(range(1, len($scales::varchar[]) + 1)) as comparison,
        unnest($scales::varchar[]) as scale,
        unnest($kinds::varchar[]) as kind,
        unnest($visits_a::varchar[]) as visit_a,
        unnest($visits_b::varchar[]) as visit_b
),

both_visits as (
    select
        cmp.comparison,
        a.cohort,
        a.record_id,
        a.met as met_a,
        b.met as met_b
    from comparisons as cmp
    join _rate_status as a
        on a.scale = cmp.scale and a.kind = cmp.kind and a.visit = cmp.visit_a
    join _rate_status as b
        on b.record_id = a.record_id and b.scale = cmp.scale and b.kind = cmp.kind and b.visit = cmp.visit_b
),

tables as (
    select
        comparison,
        cohort,
        count(*) as n,
        count(*) filter (where met_a) as count_a,
        count(*) filter (where met_b) as count_b,
        count(*) filter (where met_a and not met_b) as b,
        count(*) filter (where met_b and not met_a) as c
    from both_visits
    group by comparison, cohort
),

out_of_window as (
    select cmp.comparison, o.cohort, count(distinct o.record_id) as n_out_of_window
    from comparisons as cmp
    join _rate_out_of_window as o
        on o.scale = cmp.scale and o.kind = cmp.kind and o.visit in (cmp.visit_a, cmp.visit_b)
    group by cmp.comparison, o.cohort
),

final as (
    select comparison, cohort, t.n, t.count_a, t.count_b, t.b, t.c, coalesce(o.n_out_of_window, 0) as n_out_of_window
    from tables as t
    full outer join out_of_window as o using (comparison, cohort)
)

select * from final
order by comparison, cohort
