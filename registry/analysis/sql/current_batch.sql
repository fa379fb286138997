-- The current batch of the attached registry `reg`.
with

final as (
    select batch_id, file_name, source_sha256, ingested_at, records
    from reg.registry.batches
    where is_current
)

select * from final
