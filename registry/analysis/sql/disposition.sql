-- Disposition of the analysed subjects: per cohort and status code (null: none recorded),
-- subjects and how many have a reason recorded. The reason's text is never selected.
-- Reads _subjects and _disposition (record_id, instance, status, has_reason), staged by
-- registry/analysis/disposition.py.
with

last_status as (
    -- one status per subject: the last repeat instance with a status
    select record_id,
        arg_max(status, coalesce(instance, 0)) as status,
        arg_max(has_reason, coalesce(instance, 0)) as has_reason
    from _disposition
    where status is not null
    group by record_id
),

final as (
    select
        p.cohort,
        d.status,
        count(*) as subjects,
        count(*) filter (where d.has_reason) as with_reason
    from _subjects as p
    left join last_status as d using (record_id)
    where p.analysed
    group by p.cohort, d.status
)

select * from final
order by cohort, status nulls last
