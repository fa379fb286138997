-- Each eligibility criterion of the plan per record: met (TRUE), not met (FALSE) or not
-- recorded (NULL). Reads _eligible (registry/analysis/stage.py).
with

criteria as (
    select record_id, criterion, value, required from _eligible where record_id is not null
),

final as (
    select
        record_id,
        criterion,
        case when count(value) = 0 then null else bool_or(value = required) end as met
    from criteria
    group by record_id, criterion
)

select * from final
order by record_id, criterion
