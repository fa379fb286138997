-- Each finding of this run with what a data query needs. One finding per record, event,
-- instance, field and rule from the raw hits of every check (the check ranked first, i.e.
-- the most severe, if several agree), 'open' when the previous validated batch had it too,
-- else 'new'; a stable query id, the record's site, the flagged value (text; NULL for free
-- text) and its fingerprint, and 'confirmed' when a site confirmed this very value. The
-- flagged cells (record, event, instance, field, value, shown) come from __values (looked up
-- in the batch's tables) and from the hits of the checks whose scan read them (__checks.scanned).
create or replace temp table __context as
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

status as (
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
),

findings as (
    select
        s.*,
        'Q' || upper(substr(sha256(concat_ws(
            chr(31),
            coalesce(s.record_id, ''),
            coalesce(s.event, ''),
            coalesce(cast(s.instance as varchar), ''),
            s.field,
            s.rule
        )), 1, 12)) as query_id
    from status as s
),

sites as (
    select record_id, any_value(coalesce(redcap_data_access_group, '')) as site
    from query_table($records_table)
    group by record_id
),

flagged_values as (
    select record_id, event, instance, field, max(value) as value, bool_or(shown) as shown
    from (
        select record_id, event, instance, field, value, shown from __values
        union all
        select h.record_id, h.event, h.instance, h.field, h.value, c.shown
        from __hits as h
        join __checks as c using (check_idx)
        where c.scanned
    )
    group by all
),

latest_response as (
    select query_id, response, value_key
    from registry.query_responses
    qualify row_number() over (partition by query_id order by answered_at desc, source_row desc) = 1
),

with_values as (
    select
        f.*,
        coalesce(sites.site, '') as site,
        case when v.shown then v.value end as value,
        case when v.value is not null then sha256(v.value) end as value_key
    from findings as f
    left join sites on sites.record_id = f.record_id
    left join flagged_values as v
        on v.record_id is not distinct from f.record_id
        and v.event is not distinct from f.event
        and v.instance is not distinct from f.instance
        and v.field = f.field
),

final as (
    select
        w.record_id, w.event, w.instance, w.field, w.rule, w.severity, w.expectation,
        case
            when r.response = 'confirmed' and r.value_key is not distinct from w.value_key then 'confirmed'
            else w.status
        end as status,
        w.query_id, w.site, w.value, w.value_key
    from with_values as w
    left join latest_response as r on r.query_id = w.query_id
)

select * from final
