-- Every data query the registry knows: one row per query_id, from the findings of every
-- validated batch and the sites' latest answer. Status:
--   resolved  - the latest validated batch no longer has the finding;
--   confirmed - the site confirmed it and the value is still the one confirmed;
--   new/open  - as the gate said for the latest batch that had it (a changed value reopens).
with latest_run as (
    select max(batch_id) as batch_id from registry.validation_runs
),

per_query as (
    select
        query_id,
        min(batch_id) as first_batch,
        max(batch_id) as last_batch,
        arg_max(site, batch_id) as site,
        arg_max(record_id, batch_id) as record_id,
        arg_max(event, batch_id) as event,
        arg_max(instance, batch_id) as instance,
        arg_max(field, batch_id) as field,
        arg_max(rule, batch_id) as rule,
        arg_max(severity, batch_id) as severity,
        arg_max(status, batch_id) as last_status,
        arg_max(query, batch_id) as query,
        arg_max(value, batch_id) as value,
        arg_max(value_key, batch_id) as value_key
    from registry.findings
    where query_id is not null
    group by query_id
),

latest_response as (
    select query_id, response, response_note, value_key as answered_value_key, answered_at
    from registry.query_responses
    qualify row_number() over (partition by query_id order by answered_at desc, source_row desc) = 1
),

final as (
    select
        p.query_id, p.site, p.record_id, p.event, p.instance, p.field, p.rule, p.severity,
        case
            when p.last_batch < l.batch_id then 'resolved'
            when r.response = 'confirmed' and r.answered_value_key is not distinct from p.value_key
                then 'confirmed'
            when p.last_status = 'confirmed' then 'open'
            else p.last_status
        end as status,
        p.query, p.value, p.first_batch, p.last_batch, r.response, r.response_note, p.value_key
    from per_query as p
    cross join latest_run as l
    left join latest_response as r using (query_id)
)

select * from final
order by site, case severity when 'error' then 0 else 1 end, record_id, event, instance, field, rule
