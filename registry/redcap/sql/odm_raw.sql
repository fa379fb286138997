-- The export rows of odm_el as the temp table raw: one row per record x event x repeating
-- instrument x instance (odm_form_rows), in the order first seen, its cells from odm_cells
-- (the struct c), the columns ${columns} in the export's order.
create or replace temp table raw as
with keys as (
    select row_no, any_value(sk) as sk, any_value(event) as event, any_value(instrument) as instrument,
        any_value(instance) as instance
    from odm_form_rows
    group by row_no
), export_rows as (
    select *
    from keys join odm_subjects using (sk) left join odm_cells using (row_no)
)
select row_no as __row, ${columns}
from export_rows
order by row_no
