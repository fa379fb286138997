-- Each current finding is 'open' when the previous validated batch had it too, else 'new'.
create or replace temp table __status as
with previous as (
    select distinct record_id, event, instance, field, rule
    from registry.findings
    where batch_id = $previous
),

final as (
    select
        f.*,
        case when p.rule is null then 'new' else 'open' end as status
    from __findings as f
    left join previous as p
        on p.record_id is not distinct from f.record_id
        and p.event is not distinct from f.event
        and p.instance is not distinct from f.instance
        and p.field = f.field
        and p.rule = f.rule
)

select * from final
