-- Every batch, oldest first: the keys of `registry history --json`.
select
    batch_id,
    file_name,
    source_sha256,
    records,
    rows,
    export_format as format,
    ingested_at,
    is_current as current
from registry.batches
order by batch_id
