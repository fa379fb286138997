-- Findings of the previous validated batch that the current batch no longer has.
with previous as (
    select record_id, event, instance, field, rule, any_value(severity) as severity,
           any_value(expectation) as expectation, any_value(query_id) as query_id,
           any_value(site) as site, any_value(value) as value, any_value(query) as query
    from registry.findings
    where batch_id = $previous
    group by all
),

final as (
    select p.*, 'resolved' as status
    from previous as p
    anti join __context as f
        on p.record_id is not distinct from f.record_id
        and p.event is not distinct from f.event
        and p.instance is not distinct from f.instance
        and p.field = f.field
        and p.rule = f.rule
)

select record_id, event, instance, field, rule, severity, expectation, status, query_id, site, value, query
from final
order by record_id, event, instance, field, rule
