-- The distinct (StudyEventData tag, FormData tag) pairs of the forms (odm_forms), in the order
-- first seen, with the SubjectData tag of that first form (for an error's where).
select pair.event_tag, pair.form_tag, pair.first, s.text as subject_tag
from (
    select e.text as event_tag, f.text as form_tag, min(f.k) as first, arg_min(f.sk, f.k) as sk
    from odm_forms f left join (select k, text from odm_el where kind = 3) e on e.k = f.ek
    group by all
) pair join odm_el s on s.k = pair.sk and s.kind = 2
order by pair.first
