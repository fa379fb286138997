-- A missing-data code (rule I) is NULL in its typed column: for a finding on such a cell,
-- the code is the value (shown), unless a value of the cell was found (looked up in
-- __values, or read by the check's own scan in __hits).
insert into __values
select
    m.record_id, m.redcap_event_name, m.redcap_repeat_instance, m.field, any_value(m.code), true
from ${missing} as m
semi join __hits as s
    on s.record_id = m.record_id
    and s.field = m.field
    and s.event is not distinct from m.redcap_event_name
    and s.instance is not distinct from m.redcap_repeat_instance
anti join (
    select record_id, event, instance, field from __values where value is not null
    union all
    select record_id, event, instance, field from __hits where value is not null
) as v
    on v.record_id = m.record_id
    and v.field = m.field
    and v.event is not distinct from m.redcap_event_name
    and v.instance is not distinct from m.redcap_repeat_instance
group by all
