-- One finding per record, event, instance, field and rule from the raw hits of every check
-- (the check ranked first, i.e. the most severe, if several agree), 'open' when the previous
-- validated batch had it too, else 'new'.
create or replace temp table __status as
with firsts as (
    select h.record_id, h.event, h.instance, h.field, c.rule, min(c.rank) as rank
    from __hits as h
    join __checks as c using (check_idx)
    group by all
),

previous as (
    select distinct record_id, event, instance, field, rule
    from registry.findings
    where batch_id = $previous
),

final as (
    select
        f.record_id, f.event, f.instance, f.field, f.rule, c.severity, c.expectation,
        case when p.rule is null then 'new' else 'open' end as status
    from firsts as f
    join __checks as c on c.rank = f.rank
    left join previous as p
        on p.record_id is not distinct from f.record_id
        and p.event is not distinct from f.event
        and p.instance is not distinct from f.instance
        and p.field = f.field
        and p.rule = f.rule
)

select * from final
