-- The lock status of a plan hash in the attached registry `reg`: the latest lock (the plan
-- in force), the first lock of this hash, and the first ingest. Parameter: $plan_sha256.
with

locks as (
    select * from reg.registry.plan_locks
),

latest as (
    select plan_sha256, locked_at from locks order by lock_id desc limit 1
),

this_plan as (
    select min(locked_at) as first_locked_at from locks where plan_sha256 = $plan_sha256
),

first_ingest as (
    select min(ingested_at) as first_ingested_at from reg.registry.batches
),

final as (
    select
        l.plan_sha256 as latest_sha256,
        l.locked_at as latest_locked_at,
        t.first_locked_at,
        f.first_ingested_at
    from this_plan as t
    cross join first_ingest as f
    left join latest as l on true
)

select * from final
