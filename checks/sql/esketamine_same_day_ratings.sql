-- Protocol P8 (warning): two esketamine sessions of one record on the same study day that
-- both carry a MADRS rating. The analyses read one rating per source and day, chosen by the
-- plan's [ratings] same_day rule (default: the last repeat instance); this finding names
-- every session of such a day so a coordinator can confirm or correct it.
with rated as (
    select record_id, redcap_event_name, redcap_repeat_instance, esk_date
    from {batch}
    where esk_date is not null and esk_madrs_total is not null
),

days as (
    select record_id, esk_date from rated group by record_id, esk_date having count(*) > 1
)

select r.record_id, r.redcap_event_name, r.redcap_repeat_instance, 'esk_madrs_total' as field
from rated as r
join days as d on d.record_id = r.record_id and d.esk_date = r.esk_date
