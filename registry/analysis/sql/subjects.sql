-- One row per record: cohort code, whether eligible (every eligibility criterion met),
-- whether included (the plan's inclusion field equals $include_value) and whether analysed
-- (included, with one of the plan's cohort codes $cohorts).
-- Reads the staged views _records, _cohort, _eligible, _include (registry/analysis/stage.py).
with

records as (
    select distinct record_id from _records where record_id is not null
),

cohort as (
    select record_id, max(value) as cohort
    from _cohort
    where value is not null
    group by record_id
),

eligibility as (
    select
        record_id,
        count(distinct criterion) filter (where value = required) as criteria_met
    from _eligible
    group by record_id
),

n_criteria as (
    select count(distinct criterion) as n from _eligible
),

inclusion as (
    select record_id, bool_or(value = $include_value) as included
    from _include
    group by record_id
),

final as (
    select
        r.record_id,
        c.cohort,
        coalesce(e.criteria_met, 0) = n.n as eligible,
        coalesce(i.included, false) as included,
        coalesce(i.included, false) and coalesce(list_contains($cohorts::integer[], c.cohort), false) as analysed
    from records as r
    cross join n_criteria as n
    left join cohort as c using (record_id)
    left join eligibility as e using (record_id)
    left join inclusion as i using (record_id)
)

select * from final
order by record_id
