-- Each FormData of odm_forms (by its line k) -> the export row its values go to: the row key of its
-- (event tag, form tag) pair in odm_pairs within its SubjectData (sk), rows numbered in the
-- order their first form is seen.
create or replace temp table odm_form_rows as
with forms as (
    select f.k, f.sk, p.event, p.instrument, p.instance
    from odm_forms f
    left join (select k, text from odm_el where kind = 3) e on e.k = f.ek
    join odm_pairs p on p.form_tag = f.text and p.event_tag is not distinct from e.text
), keyed as (
    select *, min(k) over (partition by sk, event, instrument, instance) as first
    from forms
)
select k, sk, event, instrument, instance, dense_rank() over (order by first) as row_no
from keyed
