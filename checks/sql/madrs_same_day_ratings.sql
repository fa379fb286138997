-- Protocol P8 (warning): two MADRS visit ratings of one record (different events or repeat
-- instances) dated on the same study day. The analyses read one rating per source and day,
-- chosen by the plan's [ratings] same_day rule (default: the last repeat instance, then the
-- last event name); this finding names every rating of such a day.
with rated as (
    select record_id, redcap_event_name, redcap_repeat_instance, madrs_date
    from {batch}
    where madrs_date is not null and madrs_total is not null
),

days as (
    select record_id, madrs_date from rated group by record_id, madrs_date having count(*) > 1
)

select r.record_id, r.redcap_event_name, r.redcap_repeat_instance, 'madrs_total' as field
from rated as r
join days as d on d.record_id = r.record_id and d.madrs_date = r.madrs_date
