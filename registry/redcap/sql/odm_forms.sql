-- The records, events and forms of odm_el in file order, each with the StudyEventData depth
-- (open events, 0 or 1 in REDCap's layout: a SubjectData starts and ends outside any event),
-- the line of its SubjectData (sk) and, inside an event, of its StudyEventData (ek).
create or replace temp table odm_forms as
with structure as (
    select k, kind, text,
        sum(case kind when 3 then 1 when 9 then -1 else 0 end) over w as depth,
        max(case when kind = 2 then k end) over w as sk,
        max(case when kind = 3 then k end) over w as ek
    from odm_el
    where kind in (2, 3, 4, 9, 10)
    window w as (order by k rows between unbounded preceding and current row)
)
select k, kind, text, sk, case when depth = 1 then ek end as ek,
    depth between 0 and 1 and (kind not in (2, 10) or depth = 0) as ok
from structure
where kind = 4 or not (depth between 0 and 1 and (kind not in (2, 10) or depth = 0))
