-- Records of the current batch that the export being ingested (table raw) does not hold.
with current_records as (
    select record_id from query_table($current_records)
),

export_records as (
    select distinct record_id from raw
),

final as (
    select record_id from current_records
    anti join export_records using (record_id)
)

select record_id from final order by record_id
