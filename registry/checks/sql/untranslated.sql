-- A field whose branching logic or calculation the gate cannot read: one warning naming the
-- field on every run, so that the checks it would need are never skipped silently.
select
    cast(null as varchar) as record_id,
    cast(null as varchar) as redcap_event_name,
    cast(null as integer) as redcap_repeat_instance,
    ${field} as field
from (select count(*) as n from {batch}) as batch_rows
