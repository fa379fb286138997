-- One finding per record, event, instance, field and rule (the most severe, if several
-- expectations agree), from the raw hits of every check.
create or replace temp table __findings as
with hits as (
    select h.record_id, h.event, h.instance, h.field, c.rule, c.severity, c.expectation
    from __hits as h
    join __checks as c using (check_idx)
),

ranked as (
    select
        *,
        row_number() over (
            partition by record_id, event, instance, field, rule
            order by case severity when 'error' then 0 else 1 end, expectation
        ) as rank
    from hits
),

final as (
    select record_id, event, instance, field, rule, severity, expectation
    from ranked
    where rank = 1
)

select * from final
