-- The latest data-quality gate run of a batch (registry validate). Parameter: $batch_id.
with

runs as (
    select batch_id, run_at, passed, n_errors, n_warnings
    from reg.registry.validation_runs
    where batch_id = $batch_id
),

final as (
    select * from runs order by run_at desc limit 1
)

select * from final
