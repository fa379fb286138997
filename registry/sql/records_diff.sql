-- Records present in one batch and not the other.
with old_records as (
    select record_id from query_table($old_table)
),
new_records as (
    select record_id from query_table($new_table)
),
added as (
    select record_id, 'added' as change from new_records
    except
    select record_id, 'added' from old_records
),
removed as (
    select record_id, 'removed' as change from old_records
    except
    select record_id, 'removed' from new_records
),
final as (
    select * from added
    union all
    select * from removed
)
select * from final order by change, record_id
