-- Every batch, oldest first.
select
    batch_id,
    ingested_at,
    file_name,
    records,
    rows,
    export_format,
    left(source_sha256, 12) as source_sha256,
    is_current
from registry.batches
order by batch_id
